//! The sink that streams one run's records to the page while it trains.

use vanishing_analysis::{
    ExperimentTables, HistoryRow, RunRow, history_row, metric_row, variance_recursion,
};
use vanishing_config::PlannedRun;
use vanishing_core::Norm;
use vanishing_train::{
    BoundaryRecord, HistogramRecord, History, LayerRecord, MetricRecord, RunSpec, Sink,
};

use crate::Emit;
use crate::json;

/// Keeps one run's records (for its summary rows at the end) and, at every metrics
/// record (the end of each epoch), sends the page the `history` and `metrics` rows
/// recorded since the last time, so that its charts grow while the run trains.
pub(crate) struct RunSink<'a> {
    /// The run's position in the experiment.
    pub(crate) index: usize,
    run_id: String,
    label: String,
    spec: &'a RunSpec,
    history: History,
    /// Layer and metric records already sent.
    sent: (usize, usize),
    /// The `history` rows of the run's first record, kept until the record is complete
    /// to predict the gradient's flow from it.
    initial: Vec<HistoryRow>,
    /// Whether the prediction was sent.
    predicted: bool,
    emit: &'a dyn Emit,
}

impl<'a> RunSink<'a> {
    pub(crate) fn new(index: usize, planned: &'a PlannedRun, emit: &'a dyn Emit) -> Self {
        Self {
            index,
            run_id: format!("{}/s{}", planned.label, planned.spec.seed),
            label: planned.label.clone(),
            spec: &planned.spec,
            history: History::default(),
            sent: (0, 0),
            initial: Vec::new(),
            predicted: false,
            emit,
        }
    }

    /// Sends what is left (the final record comes after the last metrics) and gives
    /// back everything recorded.
    pub(crate) fn finish(mut self) -> History {
        if self.sent.0 < self.history.layers.len() || self.sent.1 < self.history.metrics.len() {
            self.flush();
        }
        self.history
    }

    /// Sends the rows recorded since the last flush.
    fn flush(&mut self) {
        let layers = &self.history.layers[self.sent.0..];
        let metrics = &self.history.metrics[self.sent.1..];
        let history: Vec<HistoryRow> = layers
            .iter()
            .map(|r| history_row(&self.run_id, self.spec, r))
            .collect();
        let metrics: Vec<_> = metrics
            .iter()
            .map(|m| metric_row(&self.run_id, m))
            .collect();
        self.sent = (self.history.layers.len(), self.history.metrics.len());
        let first_step = history.first().map(|r| r.step);
        // The recursion describes plain layers only: normalization rescales every
        // layer's gradient and a skip connection adds a path around it, so for those
        // networks no prediction is made (and no record kept for one).
        let plain = self.spec.model.norm == Norm::None && !self.spec.model.residual;
        if plain && !self.predicted && first_step.is_some() {
            self.initial.extend(
                history
                    .iter()
                    .filter(|r| Some(r.step) == first_step)
                    .cloned(),
            );
        }
        let mut out = format!("{{\"type\":\"rows\",\"run\":{},\"run_id\":", self.index);
        json::push_str(&mut out, &self.run_id);
        out.push_str(",\"history\":");
        json::push_rows(&mut out, &history);
        out.push_str(",\"metrics\":");
        json::push_rows(&mut out, &metrics);
        // The first record is complete once a later one (or the epoch's metrics after
        // it) has arrived: predict the gradient's flow from it then, once.
        if !self.predicted && !self.initial.is_empty() {
            self.predicted = true;
            out.push_str(",\"recursion\":");
            self.push_recursion(&mut out);
        }
        out.push('}');
        self.emit.emit(&out);
    }

    /// Glorot & Bengio's variance recursion at initialization, from the run's first
    /// record, by the report's own function: per pair of adjacent layers, the measured
    /// ratio of the back-propagated gradient's spread and the predicted one.
    fn push_recursion(&self, out: &mut String) {
        let hidden = self
            .spec
            .model
            .hidden
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("-");
        let tables = ExperimentTables {
            runs: vec![RunRow {
                run_id: self.run_id.clone(),
                label: self.label.clone(),
                hidden,
                ..RunRow::default()
            }],
            history: self.initial.clone(),
            ..ExperimentTables::default()
        };
        out.push('[');
        for (i, step) in variance_recursion(&tables, &self.label).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("{{\"layer\":{},\"layer_name\":", step.layer));
            json::push_str(out, &step.layer_name);
            out.push_str(",\"measured\":");
            json::push_f64(out, step.measured.median);
            out.push_str(",\"theory\":");
            match step.theory {
                Some(t) => json::push_f64(out, t.median),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        out.push(']');
    }
}

impl Sink for RunSink<'_> {
    fn expect(&mut self, layers: usize, histograms: usize, metrics: usize) {
        self.history.expect(layers, histograms, metrics);
    }

    fn layer(&mut self, record: &LayerRecord) {
        self.history.layer(record);
    }

    fn histogram(&mut self, record: &HistogramRecord<'_>) {
        self.history.histogram(record);
    }

    fn metrics(&mut self, record: &MetricRecord) {
        self.history.metrics(record);
        self.flush();
    }

    fn boundary(&mut self, record: &BoundaryRecord<'_>) {
        self.history.boundary(record);
    }
}
