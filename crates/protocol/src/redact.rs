//! Credentials out of URLs before they are shown.
//!
//! Node, signing-server and database URLs may carry a password
//! (`scheme://user:password@host`) or a secret query parameter
//! (`?password=…`, `?token=…`). Every error, log line and start-up summary
//! that names such a URL shows it through [`redact_url`], which keeps what
//! an operator needs to recognise it (scheme, user, host, port, path) and
//! puts `***` in place of each secret. It lives in this, the lowest crate,
//! so the node client, the signing-server client and the binary share it.
//! It never fails: a URL too malformed to parse is redacted all the same,
//! hiding too much rather than too little (a password holding a raw `/`,
//! `?` or `#` is hidden whole).

/// What a hidden secret is shown as.
const HIDDEN: &str = "***";

/// Query parameters whose value is a secret (compared without case).
const SECRET_QUERY_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "sslpassword",
    "secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
];

/// `url` with the password of its user information and the values of its
/// secret query parameters replaced by [`HIDDEN`].
pub fn redact_url(url: &str) -> String {
    redact_query(&redact_password(url))
}

/// `scheme://user:***@rest`. The user information ends at the last `@`,
/// wherever it is, so that a password with a raw delimiter in it is never
/// cut short.
fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}{HIDDEN}{}", &url[..scheme_end], &rest[..=colon], &rest[at..]),
        None => url.to_string(),
    }
}

/// `url` with the value of every secret query parameter hidden.
fn redact_query(url: &str) -> String {
    let Some(query_start) = url.find('?').map(|i| i + 1) else {
        return url.to_string();
    };
    let (query, fragment) = match url[query_start..].find('#') {
        Some(hash) => url[query_start..].split_at(hash),
        None => (&url[query_start..], ""),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SECRET_QUERY_KEYS.iter().any(|secret| key.eq_ignore_ascii_case(secret)) => {
                format!("{key}={HIDDEN}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{}{}{fragment}", &url[..query_start], pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_kept() {
        for (url, shown) in [
            ("postgres://hub:secret@db:5432/hub", "postgres://hub:***@db:5432/hub"),
            ("http://user:pw@127.0.0.1:1/", "http://user:***@127.0.0.1:1/"),
            (
                "https://u:p@[::1]:443/path?x=1#top",
                "https://u:***@[::1]:443/path?x=1#top",
            ),
            // A raw `/`, `?` or `@` in the password is still hidden whole.
            ("postgres://hub:ab/cd+e=@db/hub", "postgres://hub:***@db/hub"),
            ("postgres://hub:a?b@c@db/hub", "postgres://hub:***@db/hub"),
            ("postgres://hub:@db/hub", "postgres://hub:***@db/hub"),
            // No password: nothing to hide.
            ("postgres://hub@db/hub", "postgres://hub@db/hub"),
            ("sqlite://x.db?mode=rwc", "sqlite://x.db?mode=rwc"),
            ("http://127.0.0.1:14265", "http://127.0.0.1:14265"),
            ("", ""),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn secret_query_values_are_hidden() {
        for (url, shown) in [
            (
                "postgres://db/hub?user=hub&password=secret&sslmode=require",
                "postgres://db/hub?user=hub&password=***&sslmode=require",
            ),
            ("https://node/?TOKEN=abc#frag", "https://node/?TOKEN=***#frag"),
            (
                "http://node/?api_key=k&apikey=k&pwd=p",
                "http://node/?api_key=***&apikey=***&pwd=***",
            ),
            ("http://node/?passenger=1&password", "http://node/?passenger=1&password"),
            (
                "postgres://hub:pw@db/hub?sslpassword=s",
                "postgres://hub:***@db/hub?sslpassword=***",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn no_secret_survives_in_any_position() {
        let secret = "S3CR3T";
        for url in [
            format!("http://u:{secret}@h/"),
            format!("http://u:{secret}/x@h/"),
            format!("http://u:{secret}#x@h/"),
            format!("http://h/?password={secret}"),
            format!("http://u:{secret}@h/?token={secret}"),
        ] {
            assert!(!redact_url(&url).contains(secret), "{url} -> {}", redact_url(&url));
        }
    }
}
