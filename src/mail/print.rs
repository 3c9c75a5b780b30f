//! A tax certificate as a printable HTML page, laid out as the official
//! form (旅客行李、个人邮递物品进口税款缴纳证): 海关编号, 纳税人姓名, 作业单号,
//! the lines (品名和规格 / 数量 / 完税价格 / 税率(%) / 进口税金额), 进口税合计
//! 人民币(大写) … ¥ …, and the date. Self-contained (inline CSS, no script,
//! no external resource); every value is escaped.

use rust_decimal::Decimal;

use super::certificate::Certificate;
use super::mask;
use crate::formats::html_escape as esc;
use crate::tax::{capitals, to_fen};

/// A rate as a percentage (`0.13` → `13`).
fn percent(rate: Decimal) -> String {
    rate.checked_mul(Decimal::ONE_HUNDRED)
        .map(|p| p.normalize().to_string())
        .unwrap_or_else(|| rate.to_string())
}

/// The page. `date` is the issue date as printed (`2026年11月21日`).
pub fn certificate_html(c: &Certificate, date: &str) -> String {
    let total = to_fen(c.total);
    let words = capitals(total).unwrap_or_else(|e| format!("（{e}）"));
    let mut rows = String::new();
    for l in &c.lines {
        rows.push_str(&format!(
            "<tr><td class=\"name\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            esc(&l.description),
            esc(&l.quantity),
            to_fen(l.value),
            percent(l.rate),
            to_fen(l.tax)
        ));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>进口税款缴纳证 {no}</title>
<style>
body {{ font-family: "Noto Serif CJK SC", "Songti SC", SimSun, serif; margin: 2em; }}
h1 {{ text-align: center; font-size: 1.4em; letter-spacing: 0.1em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #000; padding: 0.3em 0.5em; }}
td.num {{ text-align: right; }}
.head td {{ border: none; }}
@media print {{ body {{ margin: 0; }} }}
</style>
</head>
<body>
<h1>中华人民共和国海关<br>旅客行李、个人邮递物品进口税款缴纳证</h1>
<table class="head">
<tr><td>海关编号：<span id="no">{no}</span></td><td>申报口岸：{port}</td><td>类型：{kind}</td></tr>
<tr><td>纳税人姓名：<span id="name">{name}</span></td><td>联系电话：{phone}</td><td>作业单号：<span id="mail-no">{mail_no}</span></td></tr>
</table>
<table class="lines">
<thead><tr><th>品名和规格</th><th>数量</th><th>完税价格</th><th>税率(%)</th><th>进口税金额</th></tr></thead>
<tbody>
{rows}</tbody>
<tfoot><tr><td colspan="5">进口税合计　人民币(大写)：<span id="capitals">{words}</span>　¥<span id="total">{total}</span></td></tr></tfoot>
</table>
<p>填发日期：<span id="date">{date}</span>　缴款状态：<span id="state">{state}</span></p>
</body>
</html>
"#,
        no = esc(&c.no),
        port = esc(&c.port),
        kind = esc(&c.kind),
        name = esc(&c.name),
        phone = esc(&mask::phone(&c.phone)),
        mail_no = esc(&c.mail_no),
        rows = rows,
        words = esc(&words),
        total = total,
        date = esc(date),
        state = c.state.zh(),
    )
}
