//! `GET /billing?month=YYYY-MM` (finance and admins): the month's statements with their lines,
//! arrears and a totals row; the review queue with the reason for each hold; issue, accept and
//! payment; the year's recovery per payer; and what is outstanding.

use axum::extract::Query;
use maud::{Markup, PreEscaped, html};
use rust_decimal::Decimal;

use super::layout::{MonthQuery, Page, month_of};
use chrono::Datelike;

use crate::billing::Statement;
use crate::billing::statement::{Status, display_unit};
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
    let year = month.first_day().year();
    let (statements, balances, recovery) =
        tokio::task::spawn_blocking(move || -> Result<_, crate::billing::BillingError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            Ok((
                crate::billing::book::month_statements(&ledger, &reader, &site, month, None, day)?,
                crate::billing::book::balances(&reader, &site, day)?,
                crate::billing::book::recovery(&reader, &site, year)?,
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
        .filter(|s| s.status == Status::Draft)
        .count();
    let held: Vec<&Statement> = statements
        .iter()
        .filter(|s| s.status == Status::NeedsReview)
        .collect();
    let js = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let constants = format!(
        "const MONTH={};const CSRF={};const AMOUNT={};const PAID_ON={};const METHOD={};const REF={};const CONFIRM_ISSUE={};const TODAY={};const NO_DATA={};const HELD={};const REASON={};",
        js(&label),
        js(&csrf),
        js(t("缴费金额 (元)", "Amount paid (yuan)")),
        js(t("缴费日期 (YYYY-MM-DD)", "Paid on (YYYY-MM-DD)")),
        js(t(
            "缴费方式 (转账/现金/一卡通)",
            "Method (transfer, cash, campus card)"
        )),
        js(t("凭证号", "Reference")),
        js(t(
            "开具后结算单即生效并编号，确定？",
            "Issued statements are numbered and final. Issue?"
        )),
        js(&day.to_string()),
        js(t(
            "未开具：本期无抄表数据的表计",
            "not issued: no readings in the period from"
        )),
        js(t("未开具，待复核：", "not issued, held for review:")),
        js(t(
            "复核意见：核查了什么，为何按此金额开具（记入审计日志）",
            "Review note: what was checked, and why the figure stands (kept in the audit log)",
        )),
    );
    let sum = |f: fn(&Statement) -> Decimal| statements.iter().map(f).sum::<Decimal>();
    let status_text = |s: &Statement| {
        let en = format!("{:?}", s.status).to_lowercase();
        lang.t(s.status.name_zh(), &en).to_string()
    };
    let body = html! {
        section.panel {
            h2 { (label) " " (t("水电费结算单", "Utility-charge statements")) }
            form.monthpick method="get" {
                a href=(format!("?month={}", month.prev())) { "‹ " (t("上月", "Previous")) } " "
                input type="month" name="month" value=(label) onchange="this.form.submit()";
                " " a href=(format!("?month={}", month.next())) { (t("下月", "Next")) " ›" }
            }
            p { (t("下载", "Download")) ": " a href=(format!("{base}.xlsx")) { "Excel" } " · " a href=(format!("{base}.pdf")) { "PDF" } " · " a href=(format!("{base}.csv")) { "CSV" }
                @if drafts > 0 { " · " button #issue-all onclick="issue(null)" { (t("开具本月全部草稿", "Issue every draft")) " (" (drafts) ")" } }
                " " span #b-out {} }
        }
        @if !held.is_empty() {
            section.panel #review {
                h2 { (t("待复核", "Held for review")) " (" (held.len()) ")" }
                p { small { (t(
                    "以下结算单的数据有缺失、异常或插值估算超过阈值，须财务复核接受（注明理由）或由工程师更正数据后方可开具。",
                    "These statements rest on missing, invalid or interpolated data beyond the threshold: a finance user accepts each with a reason, or an engineer corrects the data, before it is issued.",
                )) } }
                table {
                    tr { th { (t("编号", "Number")) } th { (t("缴费单位", "Payer")) } th.num { (t("金额 (元)", "Total (yuan)")) } th { (t("原因", "Why it is held")) } th {} }
                    @for s in &held {
                        tr { td { (s.number) } td { (s.tenant_name) } td.num { (money(s.total)) }
                             td { ul.reasons { @for h in &s.holds { li { (lang.t(&h.reason, &h.reason_en)) } } } }
                             td { @if s.meters_without_data().is_empty() {
                                     button onclick=(format!("accept({})", js(&s.tenant))) { (t("复核接受", "Accept")) }
                                  } @else { small { (t("无数据，不能开具", "no data: cannot be issued")) } } } }
                    }
                }
            }
        }
        section.panel {
            table #statements {
                tr { th { (t("编号", "Number")) } th { (t("缴费单位", "Payer")) } th { (t("结算期", "Period")) } th.num { (t("本期金额", "This period")) } th.num { (t("上期欠费", "Arrears")) } th.num { (t("已缴", "Paid")) } th.num { (t("欠缴", "Outstanding")) } th { (t("状态", "Status")) } th {} }
                @for s in &statements {
                    @let tenant = js(&s.tenant);
                    tr { td { (s.number) } td { (s.tenant_name) " " small { (lang.t(s.kind.name_zh(), s.kind.name_en())) } } td { (s.period) } td.num { (money(s.total)) } td.num { @if s.arrears > Decimal::ZERO { b.bad { (money(s.arrears)) } } @else { "—" } } td.num { (money(s.paid)) } td.num { (money(s.outstanding)) }
                         td { (status_text(s)) @if s.reissue_needed { " · " b.bad { (t("需重开", "re-issue")) } } @if s.accepted.is_some() { " · " small { (t("已复核", "reviewed")) } } }
                         td { a href=(format!("{base}.pdf?tenant={}", s.tenant)) { "PDF" } " "
                              @if s.status == Status::Draft || s.reissue_needed {
                                  button onclick=(format!("issue({tenant})")) { @if s.reissue_needed { (t("重开", "Re-issue")) } @else { (t("开具", "Issue")) } } " "
                              }
                              @if s.status.is_issued() && s.outstanding > Decimal::ZERO {
                                  button onclick=(format!("pay({},{})", js(&s.number), js(&s.outstanding.to_string()))) { (t("登记缴费", "Record payment")) }
                              }
                         } }
                    tr.lines { td colspan="9" { details {
                        summary { (t("明细", "Lines")) " (" (s.lines.len()) ")" }
                        table.inner {
                            tr { th { (t("表计", "Meter")) } th { (t("项目", "Item")) } th.num { (t("数量", "Quantity")) } th.num { (t("单价", "Price")) } th.num { (t("金额", "Amount")) } }
                            @for l in &s.lines { tr { td { (l.meter) } td { (lang.t(&l.description, &l.description_en)) } td.num { (l.quantity) " " (display_unit(&l.unit)) } td.num { (l.price) } td.num { (money(l.amount)) } } }
                            @for m in &s.meters {
                                tr { td { (m.meter) } td colspan="4" { small { (t("数据来源", "Data")) ": " (m.data.summary(lang == crate::http::pages::layout::Lang::En)) } } }
                            }
                        }
                    } } }
                }
                tr.total { td colspan="3" { b { (t("合计", "Total")) " (" (statements.len()) ")" } } td.num { b { (money(sum(|s| s.total))) } } td.num { b { (money(sum(|s| s.arrears))) } } td.num { b { (money(sum(|s| s.paid))) } } td.num { b { (money(sum(|s| s.outstanding))) } } td {} td {} }
            }
        }
        section.panel #year {
            h2 { (year) " " (t("年度回收", "Recovered this year")) }
            p.headline { (t("本年已回收", "Recovered in")) " " @if lang == crate::http::pages::layout::Lang::En { (year) ": " } b { (money(recovery.recovered)) } " " (t("元", "yuan")) "，" (t("应收", "billed")) " " (money(recovery.billed)) "，" (t("未收", "still owed")) " " (money(recovery.outstanding)) }
            table {
                tr { th { (t("缴费单位", "Payer")) } th.num { (t("应收", "Billed")) } th.num { (t("已回收", "Recovered")) } th.num { (t("未收", "Still owed")) } }
                @for r in recovery.tenants.iter().filter(|r| !r.billed.is_zero() || !r.recovered.is_zero()) {
                    tr { td { (r.tenant_name) } td.num { (money(r.billed)) } td.num { (money(r.recovered)) } td.num { (money(r.outstanding)) } }
                }
                tr.total { td { b { (t("合计", "Total")) } } td.num { b { (money(recovery.billed)) } } td.num { b { (money(recovery.recovered)) } } td.num { b { (money(recovery.outstanding)) } } }
            }
        }
        section.panel {
            h2 { (t("欠缴汇总", "Outstanding")) }
            table {
                tr { th { (t("缴费单位", "Payer")) } th.num { (t("应收", "Billed")) } th.num { (t("已缴", "Paid")) } th.num { (t("滞纳金", "Late fee")) } th.num { (t("欠缴", "Outstanding")) } }
                @for b in &balances { tr { td { (b.tenant_name) } td.num { (money(b.billed)) } td.num { (money(b.paid)) } td.num { (money(b.late_fee)) } td.num { (money(b.outstanding)) } } }
            }
        }
        script { (PreEscaped(constants)) (PreEscaped(BILLING_SCRIPT)) }
    };
    Ok(page.render(t("水电费结算", "Billing"), body))
}
