//! CVSS v4.0 scoring: the specification's macro-vector method.
//!
//! A vector is placed in one of the specification's macro vectors (six
//! "equivalence" digits, EQ1..EQ6) whose score FIRST publishes in a lookup
//! table; the score then moves down from that value by the vector's mean
//! distance, in each equivalence set, from the most severe vector of its
//! macro vector, scaled by how far the next lower macro vector is.
//! The table values below are those of the specification.

/// Macro vector (EQ1..EQ6 digits) to score, sorted by key.
const LOOKUP: &[(&str, f64)] = &[
    ("000000", 10.0),
    ("000001", 9.9),
    ("000010", 9.8),
    ("000011", 9.5),
    ("000020", 9.5),
    ("000021", 9.2),
    ("000100", 10.0),
    ("000101", 9.6),
    ("000110", 9.3),
    ("000111", 8.7),
    ("000120", 9.1),
    ("000121", 8.1),
    ("000200", 9.3),
    ("000201", 9.0),
    ("000210", 8.9),
    ("000211", 8.0),
    ("000220", 8.1),
    ("000221", 6.8),
    ("001000", 9.8),
    ("001001", 9.5),
    ("001010", 9.5),
    ("001011", 9.2),
    ("001020", 9.0),
    ("001021", 8.4),
    ("001100", 9.3),
    ("001101", 9.2),
    ("001110", 8.9),
    ("001111", 8.1),
    ("001120", 8.1),
    ("001121", 6.5),
    ("001200", 8.8),
    ("001201", 8.0),
    ("001210", 7.8),
    ("001211", 7.0),
    ("001220", 6.9),
    ("001221", 4.8),
    ("002001", 9.2),
    ("002011", 8.2),
    ("002021", 7.2),
    ("002101", 7.9),
    ("002111", 6.9),
    ("002121", 5.0),
    ("002201", 6.9),
    ("002211", 5.5),
    ("002221", 2.7),
    ("010000", 9.9),
    ("010001", 9.7),
    ("010010", 9.5),
    ("010011", 9.2),
    ("010020", 9.2),
    ("010021", 8.5),
    ("010100", 9.5),
    ("010101", 9.1),
    ("010110", 9.0),
    ("010111", 8.3),
    ("010120", 8.4),
    ("010121", 7.1),
    ("010200", 9.2),
    ("010201", 8.1),
    ("010210", 8.2),
    ("010211", 7.1),
    ("010220", 7.2),
    ("010221", 5.3),
    ("011000", 9.5),
    ("011001", 9.3),
    ("011010", 9.2),
    ("011011", 8.5),
    ("011020", 8.5),
    ("011021", 7.3),
    ("011100", 9.2),
    ("011101", 8.2),
    ("011110", 8.0),
    ("011111", 7.2),
    ("011120", 7.0),
    ("011121", 5.9),
    ("011200", 8.4),
    ("011201", 7.0),
    ("011210", 7.1),
    ("011211", 5.2),
    ("011220", 5.0),
    ("011221", 3.0),
    ("012001", 8.6),
    ("012011", 7.5),
    ("012021", 5.2),
    ("012101", 7.1),
    ("012111", 5.2),
    ("012121", 2.9),
    ("012201", 6.3),
    ("012211", 2.9),
    ("012221", 1.7),
    ("100000", 9.8),
    ("100001", 9.5),
    ("100010", 9.4),
    ("100011", 8.7),
    ("100020", 9.1),
    ("100021", 8.1),
    ("100100", 9.4),
    ("100101", 8.9),
    ("100110", 8.6),
    ("100111", 7.4),
    ("100120", 7.7),
    ("100121", 6.4),
    ("100200", 8.7),
    ("100201", 7.5),
    ("100210", 7.4),
    ("100211", 6.3),
    ("100220", 6.3),
    ("100221", 4.9),
    ("101000", 9.4),
    ("101001", 8.9),
    ("101010", 8.8),
    ("101011", 7.7),
    ("101020", 7.6),
    ("101021", 6.7),
    ("101100", 8.6),
    ("101101", 7.6),
    ("101110", 7.4),
    ("101111", 5.8),
    ("101120", 5.9),
    ("101121", 5.0),
    ("101200", 7.2),
    ("101201", 5.7),
    ("101210", 5.7),
    ("101211", 5.2),
    ("101220", 5.2),
    ("101221", 2.5),
    ("102001", 8.3),
    ("102011", 7.0),
    ("102021", 5.4),
    ("102101", 6.5),
    ("102111", 5.8),
    ("102121", 2.6),
    ("102201", 5.3),
    ("102211", 2.1),
    ("102221", 1.3),
    ("110000", 9.5),
    ("110001", 9.0),
    ("110010", 8.8),
    ("110011", 7.6),
    ("110020", 7.6),
    ("110021", 7.0),
    ("110100", 9.0),
    ("110101", 7.7),
    ("110110", 7.5),
    ("110111", 6.2),
    ("110120", 6.1),
    ("110121", 5.3),
    ("110200", 7.7),
    ("110201", 6.6),
    ("110210", 6.8),
    ("110211", 5.9),
    ("110220", 5.2),
    ("110221", 3.0),
    ("111000", 8.9),
    ("111001", 7.8),
    ("111010", 7.6),
    ("111011", 6.7),
    ("111020", 6.2),
    ("111021", 5.8),
    ("111100", 7.4),
    ("111101", 5.9),
    ("111110", 5.7),
    ("111111", 5.7),
    ("111120", 4.7),
    ("111121", 2.3),
    ("111200", 6.1),
    ("111201", 5.2),
    ("111210", 5.7),
    ("111211", 2.9),
    ("111220", 2.4),
    ("111221", 1.6),
    ("112001", 7.1),
    ("112011", 5.9),
    ("112021", 3.0),
    ("112101", 5.8),
    ("112111", 2.6),
    ("112121", 1.5),
    ("112201", 2.3),
    ("112211", 1.3),
    ("112221", 0.6),
    ("200000", 9.3),
    ("200001", 8.7),
    ("200010", 8.6),
    ("200011", 7.2),
    ("200020", 7.5),
    ("200021", 5.8),
    ("200100", 8.6),
    ("200101", 7.4),
    ("200110", 7.4),
    ("200111", 6.1),
    ("200120", 5.6),
    ("200121", 3.4),
    ("200200", 7.0),
    ("200201", 5.4),
    ("200210", 5.2),
    ("200211", 4.0),
    ("200220", 4.0),
    ("200221", 2.2),
    ("201000", 8.5),
    ("201001", 7.5),
    ("201010", 7.4),
    ("201011", 5.5),
    ("201020", 6.2),
    ("201021", 5.1),
    ("201100", 7.2),
    ("201101", 5.7),
    ("201110", 5.5),
    ("201111", 4.1),
    ("201120", 4.6),
    ("201121", 1.9),
    ("201200", 5.3),
    ("201201", 3.6),
    ("201210", 3.4),
    ("201211", 1.9),
    ("201220", 1.9),
    ("201221", 0.8),
    ("202001", 6.4),
    ("202011", 5.1),
    ("202021", 2.0),
    ("202101", 4.7),
    ("202111", 2.1),
    ("202121", 1.1),
    ("202201", 2.4),
    ("202211", 0.9),
    ("202221", 0.4),
    ("210000", 8.8),
    ("210001", 7.5),
    ("210010", 7.3),
    ("210011", 5.3),
    ("210020", 6.0),
    ("210021", 5.0),
    ("210100", 7.3),
    ("210101", 5.5),
    ("210110", 5.9),
    ("210111", 4.0),
    ("210120", 4.1),
    ("210121", 2.0),
    ("210200", 5.4),
    ("210201", 4.3),
    ("210210", 4.5),
    ("210211", 2.2),
    ("210220", 2.0),
    ("210221", 1.1),
    ("211000", 7.5),
    ("211001", 5.5),
    ("211010", 5.8),
    ("211011", 4.5),
    ("211020", 4.0),
    ("211021", 2.1),
    ("211100", 6.1),
    ("211101", 5.1),
    ("211110", 4.8),
    ("211111", 1.8),
    ("211120", 2.0),
    ("211121", 0.9),
    ("211200", 4.6),
    ("211201", 1.8),
    ("211210", 1.7),
    ("211211", 0.7),
    ("211220", 0.8),
    ("211221", 0.2),
    ("212001", 5.3),
    ("212011", 2.4),
    ("212021", 1.4),
    ("212101", 2.4),
    ("212111", 1.2),
    ("212121", 0.5),
    ("212201", 1.0),
    ("212211", 0.3),
    ("212221", 0.1),
];

/// The score of a macro vector, `None` for combinations the table leaves out.
fn lookup(eq: [u8; 6]) -> Option<f64> {
    let key: [u8; 6] = eq.map(|d| b'0' + d);
    let key = std::str::from_utf8(&key).ok()?;
    LOOKUP
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| LOOKUP[i].1)
}

/// The most severe vectors of each equivalence class (the specification's
/// "highest severity vectors"), as (metric, value) lists.
type MaxVector = &'static [(&'static str, &'static str)];

fn eq1_maxes(eq1: u8) -> &'static [MaxVector] {
    match eq1 {
        0 => &[&[("AV", "N"), ("PR", "N"), ("UI", "N")]],
        1 => &[
            &[("AV", "A"), ("PR", "N"), ("UI", "N")],
            &[("AV", "N"), ("PR", "L"), ("UI", "N")],
            &[("AV", "N"), ("PR", "N"), ("UI", "P")],
        ],
        _ => &[
            &[("AV", "P"), ("PR", "N"), ("UI", "N")],
            &[("AV", "A"), ("PR", "L"), ("UI", "P")],
        ],
    }
}

fn eq2_maxes(eq2: u8) -> &'static [MaxVector] {
    match eq2 {
        0 => &[&[("AC", "L"), ("AT", "N")]],
        _ => &[&[("AC", "H"), ("AT", "N")], &[("AC", "L"), ("AT", "P")]],
    }
}

fn eq3_eq6_maxes(eq3: u8, eq6: u8) -> &'static [MaxVector] {
    const fn v(
        vc: &'static str,
        vi: &'static str,
        va: &'static str,
        cr: &'static str,
        ir: &'static str,
        ar: &'static str,
    ) -> [(&'static str, &'static str); 6] {
        [
            ("VC", vc),
            ("VI", vi),
            ("VA", va),
            ("CR", cr),
            ("IR", ir),
            ("AR", ar),
        ]
    }
    const E00: &[MaxVector] = &[&v("H", "H", "H", "H", "H", "H")];
    const E01: &[MaxVector] = &[
        &v("H", "H", "L", "M", "M", "H"),
        &v("H", "H", "H", "M", "M", "M"),
    ];
    const E10: &[MaxVector] = &[
        &v("L", "H", "H", "H", "H", "H"),
        &v("H", "L", "H", "H", "H", "H"),
    ];
    const E11: &[MaxVector] = &[
        &v("L", "H", "L", "H", "M", "H"),
        &v("L", "H", "H", "H", "M", "M"),
        &v("H", "L", "H", "M", "H", "M"),
        &v("H", "L", "L", "M", "H", "H"),
        &v("L", "L", "H", "H", "H", "M"),
    ];
    const E21: &[MaxVector] = &[&v("L", "L", "L", "H", "H", "H")];
    match (eq3, eq6) {
        (0, 0) => E00,
        (0, _) => E01,
        (1, 0) => E10,
        (1, _) => E11,
        _ => E21,
    }
}

fn eq4_maxes(eq4: u8) -> &'static [MaxVector] {
    match eq4 {
        0 => &[&[("SC", "H"), ("SI", "S"), ("SA", "S")]],
        1 => &[&[("SC", "H"), ("SI", "H"), ("SA", "H")]],
        _ => &[&[("SC", "L"), ("SI", "L"), ("SA", "L")]],
    }
}

/// The depth of each equivalence class, in steps of 0.1 (the
/// specification's "maximal scoring difference").
fn max_severity(eq: usize, digits: [u8; 6]) -> f64 {
    let steps = match eq {
        1 => [1, 4, 5][usize::from(digits[0].min(2))],
        2 => [1, 2][usize::from(digits[1].min(1))],
        3 => match (digits[2], digits[5]) {
            (0, 0) => 7,
            (0, _) => 6,
            (1, _) => 8,
            _ => 10,
        },
        4 => [6, 5, 4][usize::from(digits[3].min(2))],
        _ => 1,
    };
    f64::from(steps) * 0.1
}

/// A metric's severity level: 0.0 is the most severe value, each step 0.1 less.
fn level(metric: &str, value: &str) -> f64 {
    let steps: u8 = match (metric, value) {
        ("AV", "N") | ("PR", "N") | ("UI", "N") | ("AC", "L") | ("AT", "N") => 0,
        ("AV", "A") | ("PR", "L") | ("UI", "P") | ("AC", "H") | ("AT", "P") => 1,
        ("AV", "L") | ("PR", "H") | ("UI", "A") => 2,
        ("AV", "P") => 3,
        ("VC" | "VI" | "VA" | "CR" | "IR" | "AR", "H") => 0,
        ("VC" | "VI" | "VA", "L") | ("CR" | "IR" | "AR", "M") => 1,
        ("VC" | "VI" | "VA", "N") | ("CR" | "IR" | "AR", "L") => 2,
        ("SI" | "SA", "S") => 0,
        ("SC" | "SI" | "SA", "H") => 1,
        ("SC" | "SI" | "SA", "L") => 2,
        ("SC" | "SI" | "SA", "N") => 3,
        _ => 0,
    };
    f64::from(steps) * 0.1
}

/// The metrics whose distance from the most severe vector is measured, by equivalence set.
const DISTANCE_METRICS: [(&str, usize); 14] = [
    ("AV", 1),
    ("PR", 1),
    ("UI", 1),
    ("AC", 2),
    ("AT", 2),
    ("VC", 3),
    ("VI", 3),
    ("VA", 3),
    ("CR", 3),
    ("IR", 3),
    ("AR", 3),
    ("SC", 4),
    ("SI", 4),
    ("SA", 4),
];

/// The score of a vector whose effective metric values `m` gives (modified
/// metrics already applied, defaults filled in): 0.0 to 10.0, one decimal.
pub(super) fn score(m: &dyn Fn(&str) -> &'static str) -> f32 {
    let is = |metric: &str, value: &str| m(metric) == value;
    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|metric| is(metric, "N"))
    {
        return 0.0;
    }
    let digits = macro_vector(&is);
    let Some(value) = lookup(digits) else {
        return 0.0;
    };

    // The next lower macro vector in each equivalence set.
    let lower = |eq: usize| -> Option<f64> {
        let mut d = digits;
        match eq {
            1 => d[0] += 1,
            2 => d[1] += 1,
            3 => match (digits[2], digits[5]) {
                (0, 0) => {
                    let mut left = digits;
                    left[5] += 1;
                    let mut right = digits;
                    right[2] += 1;
                    // The more severe of the two (the right one only when the left exists).
                    return lookup(left).map(|l| lookup(right).map_or(l, |r| l.max(r)));
                }
                (1, 0) => d[5] += 1,
                (0 | 1, _) => d[2] += 1,
                _ => {
                    d[2] += 1;
                    d[5] += 1;
                }
            },
            4 => d[3] += 1,
            _ => d[4] += 1,
        }
        lookup(d)
    };

    // The first most severe vector of the macro vector that the vector does not exceed.
    let mut distances = [0.0f64; 14];
    'candidates: for a in eq1_maxes(digits[0]) {
        for b in eq2_maxes(digits[1]) {
            for c in eq3_eq6_maxes(digits[2], digits[5]) {
                for d in eq4_maxes(digits[3]) {
                    let max_value = |metric: &str| {
                        [*a, *b, *c, *d]
                            .iter()
                            .flat_map(|part| part.iter())
                            .find(|(n, _)| *n == metric)
                            .map_or("", |(_, v)| *v)
                    };
                    for (i, &(metric, _)) in DISTANCE_METRICS.iter().enumerate() {
                        distances[i] = level(metric, m(metric)) - level(metric, max_value(metric));
                    }
                    if distances.iter().all(|d| *d >= 0.0) {
                        break 'candidates;
                    }
                }
            }
        }
    }

    let mut total = 0.0;
    let mut existing_lower = 0u32;
    for eq in 1..=5 {
        let Some(next) = lower(eq) else { continue };
        let available = value - next;
        if available.is_nan() || available < 0.0 {
            continue;
        }
        existing_lower += 1;
        if eq == 5 {
            // The specification gives EQ5 (exploit maturity) no distance within its class.
            continue;
        }
        let current: f64 = DISTANCE_METRICS
            .iter()
            .zip(distances)
            .filter(|((_, set), _)| *set == eq)
            .map(|(_, d)| d)
            .sum();
        total += available * (current / max_severity(eq, digits));
    }
    let mean = if existing_lower == 0 {
        0.0
    } else {
        total / f64::from(existing_lower)
    };
    let value = (value - mean).clamp(0.0, 10.0);
    // Half away from zero, with a small epsilon against binary fractions (x.x5).
    (((value + 1e-6) * 10.0).round() / 10.0) as f32
}

/// The six equivalence digits of the vector (`is(metric, value)` on effective values).
fn macro_vector(is: &dyn Fn(&str, &str) -> bool) -> [u8; 6] {
    let all_n = is("AV", "N") && is("PR", "N") && is("UI", "N");
    let any_n = is("AV", "N") || is("PR", "N") || is("UI", "N");
    let eq1 = if all_n {
        0
    } else if any_n && !is("AV", "P") {
        1
    } else {
        2
    };
    let eq2 = if is("AC", "L") && is("AT", "N") { 0 } else { 1 };
    let eq3 = if is("VC", "H") && is("VI", "H") {
        0
    } else if is("VC", "H") || is("VI", "H") || is("VA", "H") {
        1
    } else {
        2
    };
    let safety = is("MSI", "S") || is("MSA", "S");
    let eq4 = if safety {
        0
    } else if is("SC", "H") || is("SI", "H") || is("SA", "H") {
        1
    } else {
        2
    };
    let eq5 = if is("E", "A") {
        0
    } else if is("E", "P") {
        1
    } else {
        2
    };
    let eq6 = if (is("CR", "H") && is("VC", "H"))
        || (is("IR", "H") && is("VI", "H"))
        || (is("AR", "H") && is("VA", "H"))
    {
        0
    } else {
        1
    };
    [eq1, eq2, eq3, eq4, eq5, eq6]
}

#[cfg(test)]
mod tests {
    use crate::Severity;
    use crate::cvss::{Cvss4, cvss4_base_score};

    fn score(v: &str) -> f32 {
        Cvss4::parse(v).expect("valid vector").base_score()
    }

    /// Worked examples: the specification's and FIRST's calculator figures
    /// (9.3 for the network-exploitable full-impact vector, 7.3 for FIRST's
    /// CVE-2022-41741 example, 10 with subsequent-system impact too, 0 with no
    /// impact), threat and environmental metrics, and the safety values.
    #[test]
    fn published_examples() {
        let cases = [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                7.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
                1.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
                8.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P",
                8.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:H/SA:H/MSI:S/MSA:S",
                9.2,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:H/SI:N/SA:H",
                6.4,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:L/IR:L/AR:L",
                7.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
                5.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
                4.6,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MAV:P/MAC:L/MPR:H/MVC:L",
                5.3,
            ),
        ];
        for (vector, want) in cases {
            assert_eq!(score(vector), want, "{vector}");
        }
    }

    /// Vectors drawn at random (seeded), scored by an independent
    /// implementation of the specification (the `cvss` Python library that the
    /// reference parsers use): base metrics only for the first 30, then with
    /// threat, security-requirement and modified metrics mixed in.
    #[test]
    fn agrees_with_an_independent_implementation() {
        let cases = [
            (
                "CVSS:4.0/AV:A/AC:H/AT:N/PR:H/UI:P/VC:L/VI:H/VA:H/SC:H/SI:H/SA:L",
                6.0,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:A/VC:L/VI:L/VA:H/SC:H/SI:L/SA:H",
                7.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:L/SA:H",
                6.9,
            ),
            (
                "CVSS:4.0/AV:L/AC:H/AT:N/PR:N/UI:N/VC:L/VI:L/VA:H/SC:N/SI:L/SA:H",
                7.1,
            ),
            (
                "CVSS:4.0/AV:L/AC:H/AT:N/PR:L/UI:P/VC:N/VI:L/VA:L/SC:L/SI:H/SA:H",
                2.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:H/AT:N/PR:N/UI:N/VC:L/VI:N/VA:L/SC:N/SI:N/SA:N",
                2.1,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:N/PR:H/UI:N/VC:H/VI:L/VA:H/SC:N/SI:N/SA:L",
                4.6,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:A/VC:N/VI:L/VA:N/SC:N/SI:H/SA:L",
                2.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:A/VC:N/VI:H/VA:H/SC:L/SI:H/SA:L",
                8.3,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:L/UI:A/VC:H/VI:L/VA:N/SC:N/SI:L/SA:H",
                6.8,
            ),
            (
                "CVSS:4.0/AV:L/AC:H/AT:P/PR:N/UI:A/VC:L/VI:N/VA:N/SC:H/SI:L/SA:N",
                4.3,
            ),
            (
                "CVSS:4.0/AV:A/AC:H/AT:P/PR:N/UI:P/VC:L/VI:N/VA:H/SC:L/SI:N/SA:H",
                7.0,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:N/UI:P/VC:L/VI:L/VA:N/SC:H/SI:L/SA:H",
                5.0,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:H/SC:N/SI:N/SA:H",
                6.8,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:N/PR:L/UI:N/VC:H/VI:N/VA:L/SC:L/SI:N/SA:H",
                7.1,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:L/UI:P/VC:L/VI:H/VA:H/SC:L/SI:L/SA:H",
                7.0,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:H/SI:N/SA:H",
                5.9,
            ),
            (
                "CVSS:4.0/AV:A/AC:H/AT:P/PR:N/UI:P/VC:H/VI:L/VA:N/SC:H/SI:N/SA:L",
                7.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:P/VC:H/VI:N/VA:H/SC:L/SI:L/SA:N",
                6.1,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:N/VC:N/VI:N/VA:L/SC:L/SI:L/SA:L",
                1.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:P/VC:N/VI:H/VA:L/SC:N/SI:H/SA:H",
                7.2,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:N/SA:L",
                6.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:A/VC:H/VI:H/VA:H/SC:N/SI:N/SA:L",
                7.5,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:L/SI:N/SA:L",
                4.1,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:P/PR:N/UI:A/VC:H/VI:L/VA:L/SC:H/SI:H/SA:N",
                7.1,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:N/PR:L/UI:P/VC:H/VI:L/VA:L/SC:H/SI:H/SA:H",
                6.1,
            ),
            (
                "CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:P/VC:H/VI:N/VA:H/SC:N/SI:L/SA:L",
                4.4,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:H/SC:L/SI:L/SA:L",
                5.2,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:H/VA:N/SC:H/SI:L/SA:N",
                8.2,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:L/UI:P/VC:L/VI:H/VA:H/SC:N/SI:H/SA:N",
                6.8,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:P/PR:H/UI:P/VC:N/VI:L/VA:N/SC:N/SI:L/SA:L/E:P/IR:L/AR:H/MAT:N/MPR:L/MVI:H/MVA:L/MSC:L",
                2.6,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:H/SA:H/E:U/MAC:H/MVI:H",
                6.6,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:L/UI:P/VC:L/VI:N/VA:H/SC:L/SI:H/SA:N/MVC:L",
                5.7,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:L/SI:N/SA:N/AR:H/MAC:L/MAT:N/MPR:L/MVI:H",
                8.6,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:P/VC:H/VI:H/VA:L/SC:L/SI:N/SA:H/E:A/IR:L/MAV:L/MAC:L/MUI:N",
                9.2,
            ),
            (
                "CVSS:4.0/AV:A/AC:H/AT:P/PR:L/UI:N/VC:N/VI:N/VA:H/SC:H/SI:L/SA:N/CR:L/AR:H/MAV:P/MAC:L",
                5.6,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:H/CR:H/MAV:N/MUI:N/MVC:H/MSI:L",
                8.3,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:L/UI:P/VC:H/VI:N/VA:N/SC:L/SI:N/SA:N/E:A/MPR:H/MSC:L/MSA:H",
                6.8,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:N/UI:N/VC:N/VI:H/VA:N/SC:H/SI:L/SA:N/E:U/AR:H/MAV:N/MAT:N/MPR:N/MVC:H",
                8.9,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:H/UI:P/VC:N/VI:N/VA:L/SC:H/SI:H/SA:H/MAV:A/MUI:N/MVI:N/MSC:N",
                4.8,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:L/VI:H/VA:L/SC:N/SI:H/SA:N/AR:M/MAV:P/MAT:N/MVA:L/MSA:L",
                6.8,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:N/UI:P/VC:N/VI:H/VA:L/SC:H/SI:N/SA:N/CR:M/MPR:N/MVA:N/MSC:H/MSA:N",
                5.5,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:H/UI:P/VC:N/VI:N/VA:L/SC:H/SI:N/SA:L/MAV:P/MAC:H/MPR:N/MVI:H/MSC:H/MSA:H",
                5.8,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:N/VA:H/SC:L/SI:L/SA:L/E:U/MAV:N/MAC:L/MAT:N/MVI:N/MSA:S",
                7.2,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:L/SA:N/IR:M/MUI:A",
                8.3,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:L/SC:N/SI:N/SA:L/AR:M/MAC:H/MVI:H/MVA:N/MSI:S/MSA:H",
                9.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:H/UI:P/VC:L/VI:L/VA:N/SC:H/SI:L/SA:H/IR:H/MAC:H/MVC:H/MVI:N/MVA:N",
                5.9,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:L/VI:H/VA:L/SC:H/SI:L/SA:N/AR:M/MAC:L/MAT:N",
                8.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:L/SA:L/E:P/MAV:L/MSA:H",
                5.6,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:L/VA:L/SC:L/SI:L/SA:N/MAV:A/MAC:L/MAT:N/MSI:L",
                5.1,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:N/PR:H/UI:A/VC:L/VI:L/VA:N/SC:N/SI:N/SA:H/MVC:L",
                1.8,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:P/PR:H/UI:N/VC:N/VI:N/VA:H/SC:H/SI:H/SA:H/MAV:A",
                7.1,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:H/UI:N/VC:H/VI:L/VA:N/SC:L/SI:L/SA:H/AR:H/MVI:H/MVA:N",
                8.4,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:N/UI:A/VC:L/VI:L/VA:N/SC:H/SI:L/SA:L/CR:M/MAV:P/MVC:H/MSA:H",
                4.8,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:H/UI:N/VC:N/VI:N/VA:H/SC:L/SI:L/SA:H/CR:M/AR:M/MAV:L/MSI:S",
                7.1,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:P/PR:H/UI:P/VC:H/VI:N/VA:H/SC:L/SI:N/SA:N/MPR:H/MSI:H",
                5.8,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:P/VC:N/VI:H/VA:N/SC:L/SI:L/SA:H/E:A/IR:H/AR:L/MAV:A",
                7.0,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:N/UI:P/VC:L/VI:L/VA:L/SC:N/SI:H/SA:L/CR:L/MVC:L/MSI:N/MSA:H",
                1.8,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:P/PR:L/UI:P/VC:L/VI:H/VA:H/SC:H/SI:H/SA:L/IR:L/MPR:H/MVI:L/MSI:H",
                5.9,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:L/UI:A/VC:L/VI:L/VA:N/SC:H/SI:L/SA:L/MAV:L/MAT:N/MVC:H/MVI:N/MVA:N/MSI:H",
                7.0,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:N/UI:N/VC:H/VI:N/VA:L/SC:N/SI:H/SA:L/MSC:H",
                5.9,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:P/PR:H/UI:N/VC:H/VI:L/VA:L/SC:L/SI:L/SA:N/AR:M/MAC:H/MSC:L",
                5.8,
            ),
            (
                "CVSS:4.0/AV:A/AC:H/AT:P/PR:H/UI:A/VC:N/VI:N/VA:H/SC:H/SI:H/SA:N/MAV:P/MPR:N/MSI:N",
                5.6,
            ),
            (
                "CVSS:4.0/AV:A/AC:H/AT:N/PR:H/UI:P/VC:N/VI:H/VA:N/SC:H/SI:N/SA:H/AR:H/MAT:N/MUI:P/MVC:L",
                5.8,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:P/VC:N/VI:L/VA:H/SC:N/SI:L/SA:H/IR:L/MAV:L/MSI:H",
                6.8,
            ),
            (
                "CVSS:4.0/AV:L/AC:H/AT:N/PR:L/UI:N/VC:L/VI:H/VA:N/SC:L/SI:L/SA:H/IR:H/MSI:S",
                8.5,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:P/VC:H/VI:N/VA:L/SC:H/SI:L/SA:H/MAC:L/MVA:N",
                8.4,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:P/VC:H/VI:L/VA:H/SC:L/SI:H/SA:N/IR:H/MAT:N/MPR:N/MVA:N/MSI:N/MSA:S",
                7.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:L/SC:L/SI:H/SA:H/MAV:P/MUI:N/MSC:L/MSI:H/MSA:H",
                7.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:N/PR:L/UI:P/VC:N/VI:L/VA:L/SC:N/SI:H/SA:N/MAC:L/MAT:P/MSC:N/MSA:S",
                6.7,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:P/PR:L/UI:P/VC:N/VI:H/VA:H/SC:L/SI:H/SA:H/E:A/IR:M/MAC:H/MVA:L/MSA:S",
                5.4,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:P/PR:H/UI:P/VC:L/VI:H/VA:L/SC:H/SI:N/SA:N/E:U/MAV:P/MVC:H/MSI:L",
                3.3,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:N/PR:L/UI:N/VC:L/VI:N/VA:N/SC:L/SI:H/SA:N/CR:L/AR:M/MAC:L/MUI:P/MSI:N",
                2.4,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:P/PR:H/UI:A/VC:N/VI:L/VA:L/SC:N/SI:N/SA:N/IR:L/MAC:L/MAT:P/MVC:N/MSI:L",
                1.0,
            ),
            (
                "CVSS:4.0/AV:A/AC:H/AT:P/PR:H/UI:N/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H/MAT:P/MVI:H/MSC:L",
                8.6,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:H/UI:N/VC:H/VI:L/VA:H/SC:N/SI:H/SA:N/E:P/CR:H/IR:M/MVC:H/MSC:H/MSA:S",
                8.6,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:N/VC:N/VI:N/VA:N/SC:H/SI:L/SA:H/MAT:N/MUI:N/MSA:S",
                4.8,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:H/UI:N/VC:L/VI:N/VA:H/SC:L/SI:L/SA:L/MAV:A/MAT:P/MSA:H",
                7.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:N/PR:L/UI:N/VC:N/VI:N/VA:H/SC:H/SI:L/SA:L/CR:H/MAC:L/MAT:N/MVC:H",
                8.5,
            ),
            (
                "CVSS:4.0/AV:A/AC:H/AT:N/PR:N/UI:P/VC:H/VI:H/VA:N/SC:H/SI:H/SA:L/E:A/MAV:A/MAC:H/MVC:L/MVI:N/MVA:L",
                5.3,
            ),
        ];
        for (vector, want) in cases {
            assert_eq!(score(vector), want, "{vector}");
        }
    }

    #[test]
    fn score_helpers() {
        assert_eq!(
            cvss4_base_score("AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
        assert_eq!(
            cvss4_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            None
        );
        let sev = |v: &str| Cvss4::parse(v).expect("valid").severity();
        assert_eq!(
            sev("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Severity::Critical
        );
        assert_eq!(
            sev("CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Severity::High
        );
        assert_eq!(
            sev("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"),
            Severity::Medium
        );
        assert_eq!(
            sev("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"),
            Severity::Low
        );
        assert_eq!(
            sev("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"),
            Severity::Info
        );
    }

    #[test]
    fn every_macro_vector_is_sorted_and_in_range() {
        assert!(super::LOOKUP.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(super::LOOKUP.len(), 270);
        assert!(super::LOOKUP.iter().all(|(_, s)| (0.0..=10.0).contains(s)));
    }
}
