//! Opening balances of dormitory rooms' free quota (期初结转): what each room had carried over
//! in the system used before jieneng, from a month on. One check serves the API and the CSV
//! import (`tenant,month,carried_in[,note]`); every bad row of a file is named by line, and
//! nothing of a file with a bad row is recorded.

use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::site::Site;
use crate::store::reviews::NewOpening;
use crate::time::Month;

/// Checks one opening balance against the site: a room with a free quota, a month, a
/// quantity of at most a year of the room's quota, to 0.01.
pub fn check(
    site: &Site,
    tenant: &str,
    month: &str,
    carried_in: &str,
    note: &str,
) -> Result<NewOpening, String> {
    let Some(t) = site.tenant(tenant) else {
        return Err(format!(
            "tenant `{tenant}`: no such tenant in the site config"
        ));
    };
    let (Some(quota), Some(occupants)) = (&t.free_quota, t.occupants) else {
        return Err(format!(
            "tenant `{tenant}` has no free quota: an opening balance is the quota a room carried over"
        ));
    };
    let month = month
        .parse::<Month>()
        .map_err(|e| format!("month `{month}`: {e}"))?;
    let carried: Decimal = carried_in
        .trim()
        .parse()
        .map_err(|_| format!("carried_in `{carried_in}` is not a number (e.g. 48.5)"))?;
    if carried < Decimal::ZERO || carried.scale() > 2 {
        return Err(format!(
            "carried_in `{carried_in}`: a quantity ≥ 0 with at most two decimals"
        ));
    }
    let year = quota.per_person * Decimal::from(occupants) * Decimal::from(12);
    if carried > year {
        return Err(format!(
            "carried_in {carried} is more than a year of the room's quota ({year}): check the figure"
        ));
    }
    if note.chars().count() > 500 {
        return Err("note: at most 500 characters".into());
    }
    Ok(NewOpening {
        tenant: tenant.to_string(),
        month,
        carried_in: carried,
        note: note.trim().to_string(),
    })
}

#[derive(Deserialize)]
struct Row {
    tenant: String,
    month: String,
    carried_in: String,
    #[serde(default)]
    note: String,
}

/// A CSV of opening balances: `tenant,month,carried_in[,note]`.
pub fn parse(path: &Path, text: &str, site: &Site) -> Result<Vec<NewOpening>, Vec<String>> {
    let file = path.display();
    let mut out: Vec<NewOpening> = Vec::new();
    let mut errors = Vec::new();
    let rows = crate::csv_file::rows::<Row>(
        path,
        text,
        &["tenant", "month", "carried_in"],
        "tenant,month,carried_in[,note]",
    )?;
    for (line, row) in rows {
        let checked = row.and_then(|r| check(site, &r.tenant, &r.month, &r.carried_in, &r.note));
        match checked {
            Ok(o) if out.iter().any(|x| x.tenant == o.tenant) => errors.push(format!(
                "{file}:{line}: tenant `{}` appears twice: one opening balance per room",
                o.tenant
            )),
            Ok(o) => out.push(o),
            Err(e) => errors.push(format!("{file}:{line}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
