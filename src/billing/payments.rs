//! Payments from a CSV file (bank or cashier export): `statement,amount,paid_on[,method,reference]`.
//! Every bad row is reported as `FILE:LINE: message`, and nothing of a file with a bad row is
//! recorded.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::store::billing::NewPayment;

#[derive(Deserialize)]
struct Row {
    statement: String,
    amount: String,
    paid_on: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: String,
}

/// `statements`: every issued statement number → the number that superseded it, if any.
pub fn parse(
    path: &Path,
    text: &str,
    statements: &HashMap<String, Option<String>>,
) -> Result<Vec<NewPayment>, Vec<String>> {
    let file = path.display();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let rows = crate::csv_file::rows::<Row>(
        path,
        text,
        &["statement", "amount", "paid_on"],
        "statement,amount,paid_on[,method,reference]",
    )?;
    for (line, row) in rows {
        let err = |m: String| format!("{file}:{line}: {m}");
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(e));
                continue;
            }
        };
        let amount = match row.amount.parse::<Decimal>() {
            Ok(a) if a > Decimal::ZERO && a.scale() <= 2 => a,
            Ok(a) if a <= Decimal::ZERO => {
                errors.push(err(format!(
                    "amount `{}` must be greater than 0",
                    row.amount
                )));
                continue;
            }
            _ => {
                errors.push(err(format!(
                    "amount `{}` is not a yuan amount (e.g. 1234.50)",
                    row.amount
                )));
                continue;
            }
        };
        let Ok(paid_on) = NaiveDate::parse_from_str(&row.paid_on, "%Y-%m-%d") else {
            errors.push(err(format!("paid_on `{}`: use YYYY-MM-DD", row.paid_on)));
            continue;
        };
        match statements.get(&row.statement) {
            None => {
                errors.push(err(format!(
                    "no issued statement numbered `{}`",
                    row.statement
                )));
                continue;
            }
            Some(Some(newer)) => {
                errors.push(err(format!(
                    "statement `{}` was re-issued as `{newer}`: pay against that one",
                    row.statement
                )));
                continue;
            }
            Some(None) => {}
        }
        out.push(NewPayment {
            statement: row.statement,
            amount,
            paid_on,
            method: row.method,
            reference: row.reference,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_row_is_named_by_line() {
        let known: HashMap<String, Option<String>> = [
            ("JN-202610-shop".to_string(), None),
            (
                "JN-202610-canteen1".to_string(),
                Some("JN-202610-canteen1-R1".to_string()),
            ),
        ]
        .into();
        let text = "statement,amount,paid_on,method,reference\n\
                    JN-202610-shop,120.50,2026-11-10,bank,TX1\n\
                    JN-202610-nope,1,2026-11-10,,\n\
                    JN-202610-shop,-3,2026-11-10,,\n\
                    JN-202610-shop,1.234,2026-11-10,,\n\
                    JN-202610-shop,5,10/11/2026,,\n\
                    JN-202610-canteen1,5,2026-11-10,,\n";
        let errors = parse(Path::new("pay.csv"), text, &known).unwrap_err();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].starts_with("pay.csv:3: no issued statement"));
        assert!(errors[1].starts_with("pay.csv:4: amount `-3`"));
        assert!(errors[2].starts_with("pay.csv:5: amount `1.234`"));
        assert!(errors[3].starts_with("pay.csv:6: paid_on"));
        assert!(errors[4].contains("re-issued as `JN-202610-canteen1-R1`"));
        let ok = parse(
            Path::new("pay.csv"),
            "statement,amount,paid_on\nJN-202610-shop,120.5,2026-11-10\n",
            &known,
        )
        .unwrap();
        assert_eq!(ok[0].amount, Decimal::new(1205, 1));
    }
}
