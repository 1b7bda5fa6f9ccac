//! Chart tests: each kind as SVG and PNG read back (bars, colours, cells), and a chart without
//! data that says so.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::canvas::{Axis, BLUE, LIGHT_BLUE, NO_DATA, RED, SERIES, fmt_num, value_decimals};
use super::*;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

fn at(d: NaiveDate, minutes: i64) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight") + Duration::minutes(minutes)
}

/// A decoded PNG: width, height, RGB rows.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Reads a PNG back with the `png` crate's decoder: 8-bit RGB, as the charts write it.
fn decode_png(bytes: &[u8]) -> Image {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let mut reader = ::png::Decoder::new(bytes).read_info().expect("a PNG");
    let mut rgb = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).expect("PNG data");
    assert_eq!(
        (info.color_type, info.bit_depth),
        (::png::ColorType::Rgb, ::png::BitDepth::Eight)
    );
    rgb.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        rgb,
    }
}

/// How the SVG backend writes a text element's content.
fn t(s: &str) -> String {
    format!(">\n{s}\n</text>")
}

fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Filled `<rect>`s of colour `c` in an SVG.
fn rects(svg: &str, c: plotters::style::RGBColor) -> usize {
    let fill = format!("fill=\"{}\"", hex(c));
    svg.split("<rect")
        .skip(1)
        .filter(|r| r.contains(&fill))
        .count()
}

fn svg_of(chart: &Chart, f: impl Fn(&Chart) -> Result<Vec<u8>, ChartError>) -> String {
    let bytes = f(&chart.clone().format(Format::Svg)).expect("svg");
    let s = String::from_utf8(bytes).expect("utf-8");
    assert!(s.starts_with("<svg"), "{}", &s[..s.len().min(80)]);
    assert!(s.contains(&chart.title), "title in the SVG");
    assert!(s.contains(FONT_FAMILY), "font family in the SVG");
    s
}

fn png_of(chart: &Chart, f: impl Fn(&Chart) -> Result<Vec<u8>, ChartError>) -> Image {
    let bytes = f(&chart.clone().format(Format::Png)).expect("png");
    let img = decode_png(&bytes);
    assert_eq!(img.width, chart.size.width * PNG_SCALE);
    assert_eq!(img.height, chart.size.height * PNG_SCALE);
    img
}

/// Both formats for "no usable data": the SVG says 无数据, the PNG decodes.
fn assert_no_data(chart: &Chart, f: impl Fn(&Chart) -> Result<Vec<u8>, ChartError>) {
    let svg = svg_of(chart, &f);
    assert!(svg.contains(NO_DATA), "no-data text in {svg}");
    png_of(chart, &f);
}

fn curve_points(d: NaiveDate, f: impl Fn(usize) -> f64) -> Vec<(NaiveDateTime, f64)> {
    (0..96).map(|i| (at(d, 15 * i as i64), f(i))).collect()
}

#[test]
fn load_curve_renders_both_formats() {
    let today = Series::new(
        "今日",
        curve_points(day(11, 3), |i| 120.0 + 80.0 * ((i as f64) / 15.0).sin()),
    );
    let yesterday = Series::new(
        "昨日",
        curve_points(day(11, 2), |i| 100.0 + 60.0 * ((i as f64) / 15.0).cos()),
    );
    let chart = Chart::new("行政楼 今日负荷曲线", "kW");
    let f = |c: &Chart| c.load_curve(&today, Some(&yesterday));
    let svg = svg_of(&chart, f);
    // Two curves (and two legend lines), 24-hour labels ending at 24:00.
    assert!(svg.matches("<polyline").count() >= 4, "{svg}");
    assert!(svg.contains(&format!("stroke=\"{}\"", hex(LIGHT_BLUE))));
    assert!(
        svg.contains(&t("00:00")) && svg.contains(&t("24:00")),
        "{svg}"
    );
    assert!(svg.contains(&t("今日")) && svg.contains(&t("昨日")));
    png_of(&chart, f);

    // A week: MM-DD labels.
    let week: Vec<(NaiveDateTime, f64)> = (0..7 * 96)
        .map(|i| (at(day(11, 1), 15 * i), 50.0 + (i % 96) as f64))
        .collect();
    let svg = svg_of(&chart, |c| {
        c.load_curve(&Series::new("", week.clone()), None)
    });
    assert!(
        svg.contains(&t("11-01")) && svg.contains(&t("11-04")),
        "{svg}"
    );
    assert!(!svg.contains(&t("12:00")));
}

#[test]
fn load_curve_without_data_says_so() {
    let chart = Chart::new("今日负荷曲线", "kW");
    assert_no_data(&chart, |c| c.load_curve(&Series::default(), None));
    let nan = Series::new("今日", curve_points(day(11, 3), |_| f64::NAN));
    assert_no_data(&chart, |c| c.load_curve(&nan, Some(&nan)));
    // One point, negative and zero values, an infinite one: a chart, not an error.
    let odd = Series::new(
        "今日",
        vec![
            (at(day(11, 3), 0), -5.0),
            (at(day(11, 3), 15), 0.0),
            (at(day(11, 3), 30), f64::INFINITY),
        ],
    );
    let svg = svg_of(&chart, |c| c.load_curve(&odd, None));
    assert!(!svg.contains(NO_DATA));
    let one = Series::new("今日", vec![(at(day(11, 3), 600), 3.0)]);
    svg_of(&chart, |c| c.load_curve(&one, None));
    png_of(&chart, |c| c.load_curve(&one, None));
}

fn month_of_days() -> Vec<(NaiveDate, f64)> {
    (1..=30)
        .map(|d| {
            (
                day(11, d),
                1000.0 + 37.0 * f64::from(d % 7) + 11.0 * f64::from(d),
            )
        })
        .collect()
}

#[test]
fn daily_bars_count_and_over_quota_in_red() {
    let days = month_of_days();
    let chart = Chart::new("11月逐日用电量", "kWh");
    let svg = svg_of(&chart, |c| c.daily_bars(&days, None));
    assert_eq!(rects(&svg, BLUE), 30);
    assert_eq!(rects(&svg, RED), 0);
    assert!(svg.contains(&t("11-01")));

    let quota = vec![1200.0; days.len()];
    let over = days.iter().filter(|d| d.1 > 1200.0).count();
    assert!(over > 0 && over < 30);
    let f = |c: &Chart| c.daily_bars(&days, Some(&quota));
    let svg = svg_of(&chart, f);
    // Bars plus one legend swatch each for 用量 and 超定额.
    assert_eq!(rects(&svg, BLUE), 30 - over + 1);
    assert_eq!(rects(&svg, RED), over + 1);
    assert!(svg.contains(&t("定额")) && svg.contains(&t("超定额")));
    png_of(&chart, f);

    assert!(matches!(
        chart.daily_bars(&days, Some(&quota[1..])),
        Err(ChartError::Input(_))
    ));
}

#[test]
fn daily_bars_empty_nan_negative_zero() {
    let chart = Chart::new("11月逐日用电量", "kWh");
    assert_no_data(&chart, |c| c.daily_bars(&[], None));
    let nan: Vec<(NaiveDate, f64)> = (1..=5).map(|d| (day(11, d), f64::NAN)).collect();
    assert_no_data(&chart, |c| c.daily_bars(&nan, Some(&[100.0; 5])));
    let zero: Vec<(NaiveDate, f64)> = (1..=5).map(|d| (day(11, d), 0.0)).collect();
    let svg = svg_of(&chart, |c| c.daily_bars(&zero, None));
    assert!(!svg.contains(NO_DATA));
    let mixed = vec![
        (day(11, 1), -40.0),
        (day(11, 2), 90.0),
        (day(11, 3), f64::NAN),
    ];
    let svg = svg_of(&chart, |c| c.daily_bars(&mixed, None));
    assert_eq!(rects(&svg, BLUE), 2);
    assert!(svg.contains(&t("-50")) || svg.contains(&t("-40")), "{svg}");
    png_of(&chart, |c| c.daily_bars(&mixed, None));
}

#[test]
fn monthly_bars_year_on_year() {
    let this: Vec<f64> = (0..10)
        .map(|m| 30_000.0 + 2_000.0 * f64::from(m % 4))
        .collect();
    let last: Vec<f64> = (0..12)
        .map(|m| 31_000.0 + 1_500.0 * f64::from(m % 5))
        .collect();
    let quota = vec![34_000.0; 12];
    let over = this.iter().filter(|v| **v > 34_000.0).count();
    let chart = Chart::new("2026年逐月用能同比", "kWh");
    let f = |c: &Chart| c.monthly_bars(2026, &this, &last, Some(&quota));
    let svg = svg_of(&chart, f);
    assert_eq!(rects(&svg, LIGHT_BLUE), 12 + 1);
    assert_eq!(rects(&svg, BLUE), 10 - over + 1);
    assert_eq!(rects(&svg, RED), over + 1);
    assert!(svg.contains(&t("2025年")) && svg.contains(&t("2026年")) && svg.contains(&t("12月")));
    assert!(
        svg.contains(&t("30,000")) || svg.contains(&t("40,000")),
        "thousands separators"
    );
    png_of(&chart, f);

    assert_no_data(&chart, |c| c.monthly_bars(2026, &[], &[f64::NAN; 12], None));
    assert!(chart.monthly_bars(2026, &[1.0; 13], &[], None).is_err());
}

#[test]
fn stacked_bars_with_legend() {
    let periods: Vec<String> = (1..=6).map(|m| format!("{m}月")).collect();
    let stacks = vec![
        Stack::new("照明插座", vec![120.0, 130.0, 110.0, 100.0, 90.0, 95.0]),
        Stack::new("空调", vec![300.0, 280.0, 150.0, 80.0, 200.0, 420.0]),
        Stack::new("动力", vec![60.0, 62.0, 58.0, 61.0, 59.0, 60.0]),
        Stack::new("特殊", vec![20.0, f64::NAN, 25.0, -3.0, 22.0, 21.0]),
    ];
    let chart = Chart::new("分项用电构成", "kWh");
    let f = |c: &Chart| c.stacked_bars(&periods, &stacks);
    let svg = svg_of(&chart, f);
    // Every segment plus a legend swatch; the NaN and the negative 特殊 draw nothing.
    for (k, s) in stacks.iter().enumerate() {
        let drawn = s.values.iter().filter(|v| **v > 0.0).count();
        assert_eq!(rects(&svg, SERIES[k]), drawn + 1, "{}", s.name);
        assert!(svg.contains(&t(&s.name)));
    }
    // The first period's total above its bar.
    assert!(svg.contains(&t("500.0")), "{svg}");
    png_of(&chart, f);

    assert_no_data(&chart, |c| c.stacked_bars::<&str>(&[], &[]));
    let nan = vec![Stack::new("空调", vec![f64::NAN; 6])];
    assert_no_data(&chart, |c| c.stacked_bars(&periods, &nan));
    assert!(chart.stacked_bars(&periods[..2], &stacks).is_err());
}

fn heat_days() -> Vec<(NaiveDate, [f64; 24])> {
    (1..=7)
        .map(|d| {
            let mut h = [0.0; 24];
            for (i, v) in h.iter_mut().enumerate() {
                *v = if (8..18).contains(&i) {
                    80.0 + f64::from(d)
                } else {
                    20.0
                };
            }
            (day(11, d), h)
        })
        .collect()
}

#[test]
fn heatmap_cells_and_key() {
    let mut days = heat_days();
    days[2].1[5] = f64::NAN;
    let chart = Chart::new("逐时用电热力图", "kWh");
    let f = |c: &Chart| c.heatmap(&days);
    let svg = svg_of(&chart, f);
    assert_eq!(rects(&svg, super::canvas::NO_VALUE), 1);
    assert_eq!(
        svg.matches("<rect").count(),
        1 + 7 * 24 + 32,
        "background, cells, key"
    );
    assert!(
        svg.contains(&t("20.0")) && svg.contains(&t("87.0")),
        "min and max in the key"
    );
    assert!(svg.contains(&t("11-01")) && svg.contains(&t("0时")));
    png_of(&chart, f);

    assert_no_data(&chart, |c| c.heatmap(&[]));
    assert_no_data(&chart, |c| c.heatmap(&[(day(11, 1), [f64::NAN; 24])]));
    let flat = [(day(11, 1), [0.0; 24])];
    assert!(!svg_of(&chart, |c| c.heatmap(&flat)).contains(NO_DATA));
}

#[test]
fn ranking_sorted_with_values() {
    let items = vec![
        ("图书馆", 18.2),
        ("行政楼", 25.75),
        ("第一教学楼", 12.0),
        ("学生宿舍一号楼（北区）", 31.4),
        ("体育馆", f64::NAN),
        ("实验楼", 0.0),
    ];
    let chart = Chart::new("单位面积能耗排名", "kgce/m²").size(700, 90 + 22 * 6);
    let f = |c: &Chart| c.ranking(&items);
    let svg = svg_of(&chart, f);
    // Five bars (0 is a bar of no width, NaN none): the zero one draws nothing.
    assert_eq!(rects(&svg, BLUE), 4);
    let pos = |s: &str| svg.find(&t(s)).unwrap_or(usize::MAX);
    assert!(pos("31.4") < pos("25.8") && pos("25.8") < pos("18.2") && pos("18.2") < pos("12.0"));
    assert!(
        pos("12.0") < pos("0.0") && pos("0.0") < pos("无数据"),
        "{svg}"
    );
    assert!(svg.contains(&t("1.")) && svg.contains(&t("6.")));
    png_of(&chart, f);

    assert_no_data(&chart, |c| c.ranking::<&str>(&[]));
    assert_no_data(&chart, |c| c.ranking(&[("体育馆", f64::NAN)]));
}

/// The PNG's glyphs are really drawn: dark pixels in the title band (a missing font would
/// leave it white or fail), and none where there is no text.
#[test]
fn png_draws_chinese_title() {
    let chart = Chart::new("节能监测月报", "")
        .format(Format::Png)
        .size(400, 200);
    let img = decode_png(&chart.daily_bars(&[], None).expect("png"));
    let s = PNG_SCALE;
    let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
        let mut n = 0;
        for y in y0 * s..y1 * s {
            for x in x0 * s..x1 * s {
                if img.pixel(x, y).iter().all(|c| *c < 128) {
                    n += 1;
                }
            }
        }
        n
    };
    // The title is centred in the top 36 px; six CJK glyphs of 17 px.
    let title = dark(100, 300, 0, 36);
    assert!(title > 300, "only {title} dark pixels in the title band");
    assert_eq!(dark(0, 60, 0, 36), 0, "left of the title");
    assert_eq!(img.pixel(0, 0), [255, 255, 255]);
}

/// Different characters draw different glyphs: a missing font drawn as .notdef boxes ("tofu")
/// would make two titles of the same width look alike.
#[test]
fn png_glyphs_differ_not_tofu() {
    let band = |title: &str| {
        let chart = Chart::new(title, "").format(Format::Png).size(240, 160);
        let img = decode_png(&chart.heatmap(&[]).expect("png"));
        let mut bits = vec![];
        for y in 0..36 * PNG_SCALE {
            for x in 0..img.width {
                bits.push(img.pixel(x, y)[0] < 128);
            }
        }
        bits
    };
    let a = band("节能");
    let b = band("监测");
    assert!(a.iter().filter(|d| **d).count() > 50);
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(
        differ > 50,
        "only {differ} pixels differ between 节能 and 监测"
    );
}

#[test]
fn sizes_outside_the_range_are_errors() {
    let c = Chart::new("t", "").size(10, 400);
    assert!(matches!(
        c.daily_bars(&[], None),
        Err(ChartError::Size { .. })
    ));
    let c = Chart::new("t", "").size(800, 100_000).format(Format::Png);
    assert!(matches!(c.heatmap(&[]), Err(ChartError::Size { .. })));
}

#[test]
fn numbers_and_axes() {
    assert_eq!(fmt_num(1234567.891, 2), "1,234,567.89");
    assert_eq!(fmt_num(-1234.0, 0), "-1,234");
    assert_eq!(fmt_num(-0.001, 1), "0.0");
    assert_eq!(fmt_num(999.0, 0), "999");
    assert_eq!(fmt_num(12345.6, value_decimals(12345.6)), "12,346");
    assert_eq!(fmt_num(25.75, value_decimals(25.75)), "25.8");
    assert_eq!(fmt_num(0.5, value_decimals(0.5)), "0.50");
    let a = Axis::new(3.0, 1234.0, 5);
    assert_eq!((a.lo, a.hi), (0.0, 1250.0));
    assert_eq!(a.ticks.len(), 6);
    assert_eq!(a.decimals, 0);
    let a = Axis::new(-40.0, 90.0, 5);
    assert!(a.lo <= -40.0 && a.hi >= 90.0 && a.ticks.contains(&0.0));
    let a = Axis::new(0.0, 0.0, 4);
    assert_eq!((a.lo, a.hi), (0.0, 1.0));
    assert_eq!(a.decimals, 2);
}

/// Edge cases to look at: `cargo test --lib chart::tests::write_edge_cases -- --ignored` writes
/// PNGs into $TMPDIR/charts.
#[test]
#[ignore]
fn write_edge_cases() {
    let dir = std::env::temp_dir().join("charts");
    std::fs::create_dir_all(&dir).expect("dir");
    let write = |name: &str, bytes: Result<Vec<u8>, ChartError>| {
        std::fs::write(dir.join(format!("edge_{name}.png")), bytes.expect(name)).expect("write");
    };
    let png = |title: &str, unit: &str| Chart::new(title, unit).format(Format::Png);
    write(
        "no_data",
        png("行政楼 今日负荷曲线", "kW").load_curve(&Series::default(), None),
    );
    let mixed = vec![
        (day(11, 1), -40.0),
        (day(11, 2), 90.0),
        (day(11, 3), f64::NAN),
        (day(11, 4), 0.0),
    ];
    write(
        "negative_small",
        png("逐日用电量（含冲正）", "kWh")
            .size(320, 200)
            .daily_bars(&mixed, Some(&[50.0; 4])),
    );
    let mut gappy = curve_points(day(11, 3), |i| 80.0 + (i as f64 / 8.0).sin() * 30.0);
    for p in &mut gappy[30..38] {
        p.1 = f64::NAN;
    }
    gappy.retain(|p| p.0 < at(day(11, 3), 15 * 60) || p.0 > at(day(11, 3), 15 * 70));
    write(
        "gaps_narrow",
        png("负荷曲线（有缺测）", "kW")
            .size(420, 260)
            .load_curve(&Series::new("今日", gappy), None),
    );
    let long = vec![
        (
            "一个名字非常非常非常长的二级单位（含附属用房和地下车库）",
            88.0,
        ),
        ("短", -12.5),
        ("无读数单位", f64::NAN),
    ];
    write(
        "ranking_long_names",
        png("综合得分排名", "分").size(500, 160).ranking(&long),
    );
    let year: Vec<(NaiveDate, [f64; 24])> = (0..365)
        .map(|i| (day(1, 1) + Duration::days(i), [i as f64; 24]))
        .collect();
    write(
        "heatmap_year",
        png("全年逐时热力图", "kWh").size(800, 600).heatmap(&year),
    );
    let many: Vec<String> = (1..=36).map(|i| format!("2026-{i:02}")).collect();
    let stacks = vec![
        Stack::new(
            "照明插座",
            (0..36).map(|i| 1000.0 + 10.0 * f64::from(i)).collect(),
        ),
        Stack::new("空调", vec![2000.0; 36]),
    ];
    write(
        "stacked_many",
        png("分项用电构成（36期）", "kWh")
            .size(600, 300)
            .stacked_bars(&many, &stacks),
    );
    let this = [10.0, 12.0];
    write(
        "monthly_partial",
        png("逐月同比", "万kWh")
            .size(480, 260)
            .monthly_bars(2026, &this, &[], Some(&[11.0; 12])),
    );
}
