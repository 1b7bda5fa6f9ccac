//! Statements as CSV: one row per line, with the statement's number, tenant and period, so
//! finance can sort and sum them in any spreadsheet; each row carries its meter's start and end
//! values as the statement prints them.

use super::statement::{BoundaryReading, Statement, display_unit};
use crate::energy::intervals::Quality;

/// A boundary's value (empty without one) and its quality.
fn boundary(b: Option<&BoundaryReading>) -> (String, String) {
    let value = b.and_then(|b| b.value).map(|v| v.to_string());
    let quality = b.map_or(Quality::Missing, |b| b.quality);
    let quality = serde_json::to_value(quality)
        .ok()
        .and_then(|q| q.as_str().map(str::to_string))
        .unwrap_or_default();
    (value.unwrap_or_default(), quality)
}

pub fn csv(statements: &[Statement]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "number",
        "tenant",
        "tenant_name",
        "period",
        "meter",
        "description",
        "from",
        "to",
        "metered",
        "quantity",
        "unit",
        "price",
        "amount",
        "statement_total",
        "meter_start",
        "meter_start_quality",
        "meter_end",
        "meter_end_quality",
    ])?;
    for s in statements {
        for l in &s.lines {
            let block = s.meters.iter().find(|m| m.meter == l.meter);
            let (start, start_quality) = boundary(block.and_then(|m| m.start.as_ref()));
            let (end, end_quality) = boundary(block.and_then(|m| m.end.as_ref()));
            w.write_record([
                s.number.as_str(),
                &s.tenant,
                &s.tenant_name,
                &s.period,
                &l.meter,
                &l.description,
                &l.from.to_string(),
                &l.to.to_string(),
                &l.metered.map(|m| m.to_string()).unwrap_or_default(),
                &l.quantity.to_string(),
                display_unit(&l.unit),
                &l.price.to_string(),
                &l.amount.to_string(),
                &s.total.to_string(),
                &start,
                &start_quality,
                &end,
                &end_quality,
            ])?;
        }
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::xlsx::tests::sample;

    #[test]
    fn water_is_in_cubic_metres() {
        let mut s = sample();
        s.lines[0].unit = "m3".into();
        let text = String::from_utf8(csv(&[s]).unwrap()).unwrap();
        let first = text.lines().nth(1).unwrap();
        assert!(first.contains(",m³,") && !first.contains("m3"), "{first}");
    }

    #[test]
    fn each_row_carries_its_meters_start_and_end_values() {
        let text = String::from_utf8(csv(&[sample()]).unwrap()).unwrap();
        let mut rows = text.lines();
        assert!(
            rows.next()
                .unwrap()
                .ends_with("meter_start,meter_start_quality,meter_end,meter_end_quality")
        );
        // As the statement holds them: the interpolated end with its four places.
        assert!(
            rows.next()
                .unwrap()
                .ends_with("8231.20,measured,9421.1700,interpolated")
        );
    }
}
