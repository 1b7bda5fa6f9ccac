//! `GET /billing?month=YYYY-MM` (finance and admins): a month's statements with issue and
//! payment, and what is outstanding.

use axum::extract::Query;
use maud::{Markup, PreEscaped, html};
use rust_decimal::Decimal;

use super::layout::{MonthQuery, Page, month_of};
use crate::energy::ledger::Ledger;
use crate::http::error::AppError;
use crate::report::html::money;

const BILLING_SCRIPT: &str = include_str!("../assets/billing.js");

/// `GET /billing?month=YYYY-MM` (finance and admins).
pub async fn page(page: Page, Query(q): Query<MonthQuery>) -> Result<Markup, AppError> {
    let (state, lang) = (&page.state, page.lang);
    let t = |zh, en| lang.t(zh, en);
    let month = month_of(&q, page.today())?;
    let label = month.to_string();
    let (site, store, day) = (state.site.clone(), state.store.clone(), page.today());
    let (statements, balances) =
        tokio::task::spawn_blocking(move || -> Result<_, crate::billing::BillingError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            Ok((
                crate::billing::book::month_statements(&ledger, &reader, &site, month, None, day)?,
                crate::billing::book::balances(&reader, &site, day)?,
            ))
        })
        .await??;
    let base = format!("/api/v1/billing/{label}/statements");
    let csrf = page
        .who
        .as_ref()
        .and_then(|p| p.csrf.clone())
        .unwrap_or_default();
    let drafts = statements
        .iter()
        .filter(|s| s.status == crate::billing::statement::Status::Draft)
        .count();
    let constants = format!(
        "const MONTH={};const CSRF={};const AMOUNT={};const PAID_ON={};const METHOD={};const REF={};const CONFIRM_ISSUE={};const TODAY={};const NO_DATA={};",
        serde_json::to_string(&label).unwrap_or_default(),
        serde_json::to_string(&csrf).unwrap_or_default(),
        serde_json::to_string(t("缴费金额 (元)", "Amount paid (yuan)")).unwrap_or_default(),
        serde_json::to_string(t("缴费日期 (YYYY-MM-DD)", "Paid on (YYYY-MM-DD)"))
            .unwrap_or_default(),
        serde_json::to_string(t(
            "缴费方式 (转账/现金/一卡通)",
            "Method (transfer, cash, campus card)"
        ))
        .unwrap_or_default(),
        serde_json::to_string(t("凭证号", "Reference")).unwrap_or_default(),
        serde_json::to_string(t(
            "开具后结算单即生效并编号，确定？",
            "Issued statements are numbered and final. Issue?"
        ))
        .unwrap_or_default(),
        serde_json::to_string(&day.to_string()).unwrap_or_default(),
        serde_json::to_string(t(
            "未开具：本期无抄表数据的表计",
            "not issued: no readings in the period from",
        ))
        .unwrap_or_default(),
    );
    let body = html! {
        section.panel {
            h2 { (label) " " (t("水电费结算单", "Utility-charge statements")) }
            p { (t("下载", "Download")) ": " a href=(format!("{base}.xlsx")) { "Excel" } " · " a href=(format!("{base}.pdf")) { "PDF" } " · " a href=(format!("{base}.csv")) { "CSV" }
                " · " a href=(format!("?month={}", month.prev())) { (t("上月", "previous month")) }
                @if drafts > 0 { " · " button #issue-all onclick="issue(null)" { (t("开具本月全部草稿", "Issue every draft")) " (" (drafts) ")" } }
                " " span #b-out {} }
            table {
                tr { th { (t("编号", "Number")) } th { (t("商户", "Tenant")) } th { (t("结算期", "Period")) } th.num { (t("金额 (元)", "Total (yuan)")) } th.num { (t("已缴", "Paid")) } th.num { (t("欠缴", "Outstanding")) } th { (t("状态", "Status")) } th {} }
                @for s in &statements {
                    @let tenant = serde_json::to_string(&s.tenant).unwrap_or_default();
                    tr { td { (s.number) } td { (s.tenant_name) } td { (s.period) } td.num { (money(s.total)) } td.num { (money(s.paid)) } td.num { (money(s.outstanding)) }
                         td { @let en = format!("{:?}", s.status).to_lowercase(); (lang.t(s.status.name_zh(), &en)) @if s.reissue_needed { " · " b.bad { (t("需重开", "re-issue")) } } }
                         td { a href=(format!("{base}.pdf?tenant={}", s.tenant)) { "PDF" } " "
                              @if s.status == crate::billing::statement::Status::Draft || s.reissue_needed {
                                  button onclick=(format!("issue({tenant})")) { @if s.reissue_needed { (t("重开", "Re-issue")) } @else { (t("开具", "Issue")) } } " "
                              }
                              @if s.status != crate::billing::statement::Status::Draft && s.outstanding > Decimal::ZERO {
                                  button onclick=(format!("pay({},{})", serde_json::to_string(&s.number).unwrap_or_default(), serde_json::to_string(&s.outstanding.to_string()).unwrap_or_default())) { (t("登记缴费", "Record payment")) }
                              }
                         } }
                }
            }
        }
        section.panel {
            h2 { (t("欠缴汇总", "Outstanding")) }
            table {
                tr { th { (t("商户", "Tenant")) } th.num { (t("应收", "Billed")) } th.num { (t("已缴", "Paid")) } th.num { (t("滞纳金", "Late fee")) } th.num { (t("欠缴", "Outstanding")) } }
                @for b in &balances { tr { td { (b.tenant_name) } td.num { (money(b.billed)) } td.num { (money(b.paid)) } td.num { (money(b.late_fee)) } td.num { (money(b.outstanding)) } } }
            }
        }
        script { (PreEscaped(constants)) (PreEscaped(BILLING_SCRIPT)) }
    };
    Ok(page.render(t("水电费结算", "Billing"), body))
}
