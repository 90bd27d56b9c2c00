//! Who is acting: the name recorded in the audit trail.

/// The MVP's order: `FLEETROLL_ACTOR`, then `SUDO_USER` (the person behind
/// `sudo`), then `USER`, else `unknown`. Empty values are skipped.
pub fn infer(lookup: impl Fn(&str) -> Option<String>) -> String {
    ["FLEETROLL_ACTOR", "SUDO_USER", "USER"]
        .into_iter()
        .find_map(|name| lookup(name).filter(|value| !value.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[("FLEETROLL_ACTOR", "bot"), ("SUDO_USER", "alice"), ("USER", "root")], "bot"),
            (&[("SUDO_USER", "alice"), ("USER", "root")], "alice"),
            (&[("USER", "root")], "root"),
            (&[("FLEETROLL_ACTOR", " "), ("USER", "root")], "root"),
            (&[], "unknown"),
        ];
        for (env, expected) in cases {
            let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
            assert_eq!(infer(lookup), expected, "{env:?}");
        }
    }
}
