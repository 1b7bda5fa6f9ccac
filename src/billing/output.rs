//! Statements as CSV: one row per line, with the statement's number, tenant and period, so
//! finance can sort and sum them in any spreadsheet.

use super::statement::Statement;

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
    ])?;
    for s in statements {
        for l in &s.lines {
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
                &l.unit,
                &l.price.to_string(),
                &l.amount.to_string(),
                &s.total.to_string(),
            ])?;
        }
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
