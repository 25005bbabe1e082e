//! The PyO3 binding `mm_orderbook`: a column of one-line delegations to the Rust core.

use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::book::{ApplyOutcome, OrderBook};
use crate::decimal::Increment;
use crate::side::Side;

create_exception!(
    mm_orderbook,
    BookError,
    PyValueError,
    "Malformed or refused input; the book is left exactly as it was."
);

impl From<crate::error::BookError> for PyErr {
    fn from(error: crate::error::BookError) -> Self {
        BookError::new_err(error.to_string())
    }
}

/// What an apply did: Applied, Reset, Gap or Stale.
#[pyclass(
    name = "OutcomeKind",
    module = "mm_orderbook",
    eq,
    eq_int,
    frozen,
    hash
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyOutcomeKind {
    Applied,
    Reset,
    Gap,
    Stale,
}

/// The sequencing result of one apply.
#[pyclass(name = "ApplyOutcome", module = "mm_orderbook", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyApplyOutcome {
    outcome: ApplyOutcome,
}

#[pymethods]
impl PyApplyOutcome {
    #[getter(kind)]
    fn py_kind(&self) -> PyOutcomeKind {
        match self.outcome {
            ApplyOutcome::Applied { .. } => PyOutcomeKind::Applied,
            ApplyOutcome::Reset { .. } => PyOutcomeKind::Reset,
            ApplyOutcome::Gap { .. } => PyOutcomeKind::Gap,
            ApplyOutcome::Stale { .. } => PyOutcomeKind::Stale,
        }
    }

    /// The update id (`u`) of the frame or batch.
    #[getter(update_id)]
    fn py_update_id(&self) -> u64 {
        match self.outcome {
            ApplyOutcome::Applied { update_id } | ApplyOutcome::Reset { update_id } => update_id,
            ApplyOutcome::Gap { received, .. } | ApplyOutcome::Stale { received, .. } => received,
        }
    }

    /// For a Gap: the id that was expected (None before any snapshot).
    #[getter(expected_id)]
    fn py_expected_id(&self) -> Option<u64> {
        match self.outcome {
            ApplyOutcome::Gap { expected, .. } => expected,
            _ => None,
        }
    }

    /// For Stale: the book's last update id.
    #[getter(last_id)]
    fn py_last_id(&self) -> Option<u64> {
        match self.outcome {
            ApplyOutcome::Stale { last, .. } => Some(last),
            _ => None,
        }
    }

    /// True for Applied and Reset: the book changed and is consistent.
    #[getter(changed)]
    fn py_changed(&self) -> bool {
        matches!(
            self.outcome,
            ApplyOutcome::Applied { .. } | ApplyOutcome::Reset { .. }
        )
    }

    fn __repr__(&self) -> String {
        format!("ApplyOutcome.{:?}", self.outcome)
    }
}

fn outcome(result: Result<ApplyOutcome, crate::error::BookError>) -> PyResult<PyApplyOutcome> {
    Ok(PyApplyOutcome { outcome: result? })
}

fn side(text: &str) -> PyResult<Side> {
    Ok(Side::parse(text)?)
}

/// An L2 book for one symbol in integer ticks and lots.
#[pyclass(name = "OrderBook", module = "mm_orderbook")]
pub struct PyOrderBook {
    book: OrderBook,
}

#[pymethods]
impl PyOrderBook {
    #[new]
    #[pyo3(signature = (symbol, tick_size, lot_size, *, depth, depth_limit = None))]
    fn py_new(
        symbol: &str,
        tick_size: &str,
        lot_size: &str,
        depth: i64,
        depth_limit: Option<i64>,
    ) -> PyResult<Self> {
        let limit = self::depth_limit(depth_limit)?;
        Ok(Self {
            book: OrderBook::new(symbol, tick_size, lot_size, topic_depth(depth)?, limit)?,
        })
    }

    /// A frame as `bytes` or as `str` (a WebSocket text frame), read in place either way.
    #[pyo3(name = "apply_frame")]
    fn py_apply_frame(&mut self, data: &Bound<'_, PyAny>) -> PyResult<PyApplyOutcome> {
        outcome(self.book.apply_frame(frame_bytes(data)?))
    }

    #[pyo3(name = "apply_snapshot")]
    fn py_apply_snapshot(
        &mut self,
        bids: Vec<(i64, i64)>,
        asks: Vec<(i64, i64)>,
        update_id: u64,
    ) -> PyResult<PyApplyOutcome> {
        outcome(self.book.apply_snapshot(&bids, &asks, update_id))
    }

    #[pyo3(name = "apply_delta")]
    fn py_apply_delta(
        &mut self,
        bids: Vec<(i64, i64)>,
        asks: Vec<(i64, i64)>,
        update_id: u64,
    ) -> PyResult<PyApplyOutcome> {
        outcome(self.book.apply_delta(&bids, &asks, update_id))
    }

    #[getter(symbol)]
    fn py_symbol(&self) -> &str {
        self.book.symbol()
    }
    #[getter(tick_size)]
    fn py_tick_size(&self) -> &str {
        self.book.tick_size().text()
    }
    #[getter(lot_size)]
    fn py_lot_size(&self) -> &str {
        self.book.lot_size().text()
    }
    #[getter(depth)]
    fn py_depth(&self) -> u32 {
        self.book.depth()
    }
    #[getter(topic)]
    fn py_topic(&self) -> &str {
        self.book.topic()
    }
    #[getter(depth_limit)]
    fn py_depth_limit(&self) -> usize {
        self.book.depth_limit()
    }
    #[getter(best_bid)]
    fn py_best_bid(&self) -> Option<(i64, u64)> {
        self.book.best(Side::Bid)
    }
    #[getter(best_ask)]
    fn py_best_ask(&self) -> Option<(i64, u64)> {
        self.book.best(Side::Ask)
    }
    /// (bid price, bid lots, ask price, ask lots, venue time ms) in one call, 0 for an empty
    /// side or an unknown time: what a book-top message is made of, without three look-ups.
    #[pyo3(name = "top")]
    fn py_top(&self) -> (i64, u64, i64, u64, i64) {
        let (bid_price, bid_lots) = self.book.best(Side::Bid).unwrap_or((0, 0));
        let (ask_price, ask_lots) = self.book.best(Side::Ask).unwrap_or((0, 0));
        let ts_ms = self.book.times().ts_ms.unwrap_or(0);
        (bid_price, bid_lots, ask_price, ask_lots, ts_ms)
    }
    #[getter(mid_ticks)]
    fn py_mid_ticks(&self) -> Option<f64> {
        self.book.mid_ticks()
    }
    #[getter(microprice)]
    fn py_microprice(&self) -> Option<f64> {
        self.book.microprice()
    }
    #[getter(spread_ticks)]
    fn py_spread_ticks(&self) -> Option<i64> {
        self.book.spread_ticks()
    }
    #[getter(spread_bps)]
    fn py_spread_bps(&self) -> Option<f64> {
        self.book.spread_bps()
    }
    #[getter(bid_count)]
    fn py_bid_count(&self) -> usize {
        self.book.side(Side::Bid).len()
    }
    #[getter(ask_count)]
    fn py_ask_count(&self) -> usize {
        self.book.side(Side::Ask).len()
    }
    #[getter(last_update_id)]
    fn py_last_update_id(&self) -> Option<u64> {
        self.book.last_update_id()
    }
    #[getter(ts_exchange_ms)]
    fn py_ts_exchange_ms(&self) -> Option<i64> {
        self.book.times().ts_ms
    }
    #[getter(cts_ms)]
    fn py_cts_ms(&self) -> Option<i64> {
        self.book.times().cts_ms
    }
    #[getter(sequence)]
    fn py_sequence(&self) -> Option<i64> {
        self.book.times().seq
    }

    #[pyo3(signature = (side, qty_lots = None, notional = None))]
    #[pyo3(name = "vwap")]
    fn py_vwap(
        &self,
        side: &str,
        qty_lots: Option<i128>,
        notional: Option<i128>,
    ) -> PyResult<Option<f64>> {
        vwap(&self.book, side, qty_lots, notional)
    }

    #[pyo3(name = "depth_within_bps")]
    fn py_depth_within_bps(&self, side: &str, bps: f64) -> PyResult<Option<(u64, u128)>> {
        Ok(self.book.depth_within_bps(self::side(side)?, bps)?)
    }

    #[pyo3(signature = (levels = 1))]
    #[pyo3(name = "imbalance")]
    fn py_imbalance(&self, levels: usize) -> Option<f64> {
        self.book.imbalance(levels)
    }

    #[pyo3(name = "top_levels")]
    fn py_top_levels<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyTuple>> {
        top_levels(py, &self.book, n)
    }

    #[pyo3(signature = (side, n = None))]
    #[pyo3(name = "levels")]
    fn py_levels(&self, side: &str, n: Option<usize>) -> PyResult<Vec<(i64, u64)>> {
        Ok(self
            .book
            .side(self::side(side)?)
            .iter()
            .take(n.unwrap_or(usize::MAX))
            .collect())
    }

    #[pyo3(name = "fingerprint")]
    fn py_fingerprint(&self, n: usize) -> u64 {
        self.book.fingerprint(n)
    }
}

fn depth_limit(limit: Option<i64>) -> PyResult<Option<usize>> {
    let invalid = |received| crate::error::BookError::InvalidDepthLimit { received };
    match limit {
        None => Ok(None),
        Some(levels) => Ok(Some(usize::try_from(levels).map_err(|_| invalid(levels))?)),
    }
}

fn topic_depth(depth: i64) -> PyResult<u32> {
    Ok(u32::try_from(depth)
        .map_err(|_| crate::error::BookError::InvalidDepth { received: depth })?)
}

/// The bytes of a `bytes` frame, or the UTF-8 of a `str` frame (CPython's own buffer for ASCII
/// text, so neither copies); a `str` that is not valid Unicode is a BookError.
fn frame_bytes<'a>(data: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(bytes.as_bytes());
    }
    if let Ok(text) = data.cast::<PyString>() {
        let invalid = |_| crate::error::BookError::InvalidJson {
            detail: "the text is not valid Unicode (unpaired surrogate)".to_owned(),
        };
        return Ok(text.to_str().map_err(invalid)?.as_bytes());
    }
    let received = data.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "apply_frame takes bytes or str, received {received}"
    )))
}

fn amount<T: TryFrom<i128>>(what: &'static str, received: i128) -> PyResult<T> {
    T::try_from(received).map_err(|_| crate::error::BookError::VwapAmount { what, received }.into())
}

fn vwap(
    book: &OrderBook,
    side: &str,
    qty_lots: Option<i128>,
    notional: Option<i128>,
) -> PyResult<Option<f64>> {
    let side = self::side(side)?;
    match (qty_lots, notional) {
        (Some(lots), None) => Ok(book.vwap_quantity(side, amount("qty_lots", lots)?)),
        (None, Some(notional)) => Ok(book.vwap_notional(side, amount("notional", notional)?)),
        (None, None) => Err(crate::error::BookError::VwapTarget {
            received: "neither",
        }
        .into()),
        (Some(_), Some(_)) => Err(crate::error::BookError::VwapTarget { received: "both" }.into()),
    }
}

/// (bid prices, bid sizes, ask prices, ask sizes), best first, built straight from the book.
fn top_levels<'py>(py: Python<'py>, book: &OrderBook, n: usize) -> PyResult<Bound<'py, PyTuple>> {
    let (bids, asks) = (book.side(Side::Bid), book.side(Side::Ask));
    let bid_prices = PyList::new(py, bids.iter().take(n).map(|(price, _)| price))?;
    let bid_sizes = PyList::new(py, bids.iter().take(n).map(|(_, lots)| lots))?;
    let ask_prices = PyList::new(py, asks.iter().take(n).map(|(price, _)| price))?;
    let ask_sizes = PyList::new(py, asks.iter().take(n).map(|(_, lots)| lots))?;
    PyTuple::new(py, [bid_prices, bid_sizes, ask_prices, ask_sizes])
}

/// Exact ticks for a decimal price string, e.g. price_to_ticks("65000.10", "0.10") == 650001.
#[pyfunction(name = "price_to_ticks")]
fn py_price_to_ticks(text: &str, tick_size: &str) -> PyResult<u64> {
    Ok(Increment::parse("tick size", tick_size)?.units("price", text.as_bytes())?)
}

/// Exact lots for a decimal size string, e.g. qty_to_lots("1.250", "0.001") == 1250.
#[pyfunction(name = "qty_to_lots")]
fn py_qty_to_lots(text: &str, lot_size: &str) -> PyResult<u64> {
    Ok(Increment::parse("lot size", lot_size)?.units("size", text.as_bytes())?)
}

#[pymodule(name = "_native")]
fn py_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("BookError", module.py().get_type::<BookError>())?;
    module.add_class::<PyOrderBook>()?;
    module.add_class::<PyApplyOutcome>()?;
    module.add_class::<PyOutcomeKind>()?;
    module.add_function(wrap_pyfunction!(py_price_to_ticks, module)?)?;
    module.add_function(wrap_pyfunction!(py_qty_to_lots, module)?)?;
    Ok(())
}
