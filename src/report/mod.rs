//! Reports for the energy-saving committee: the monthly report's contents (`monthly`) and its
//! renderings.

pub mod html;
pub mod monthly;
pub mod pdf;
pub mod xlsx;

pub use monthly::MonthlyReport;

/// The report's charts as SVG, for the HTML page.
pub fn figures(_report: &MonthlyReport) -> Vec<html::Figure> {
    Vec::new()
}

/// The report's charts as PNG, for the PDF and the workbook.
pub fn png_figures(_report: &MonthlyReport) -> Vec<pdf::PngFigure> {
    Vec::new()
}
