//! The OpenAPI 3.1 document of the REST API, generated from the handlers'
//! `#[utoipa::path]` attributes and `schema`'s types, and served at
//! `GET /v1/openapi.json` (no credentials needed: it holds no data).
//! `docs/openapi.json` is the same document checked in; a test fails when
//! the two differ, so a change to the API shows in review.
//!
//! Every operation answers the same problems besides its own success
//! ([`CommonProblems`], written once): 400 (a field breaks a rule), 401, 403,
//! 404, 409, 415, 422 (a rule of Hub's refused it), 429, 500, 503.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{chain, events, money, schema, users, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "IOTA Hub REST API",
        description = "Users, deposits, transfer batches, withdrawals, sweeps, the event feed and webhooks. \
                       Every call needs `Authorization: Bearer <token>` with the scope its operation names.",
        license(name = "Apache-2.0")
    ),
    paths(
        users::create, users::get, users::new_deposit_address, users::history,
        money::settle_batch, money::request, money::get, money::cancel,
        chain::list, chain::get, chain::address, chain::stats,
        events::page, events::stream,
        webhooks::create, webhooks::list, webhooks::delete, webhooks::deliveries, webhooks::redeliver,
    ),
    components(schemas(schema::Problem)),
    modifiers(&CommonProblems, &BearerAuth),
    tags(
        (name = "users", description = "Users, balances, deposit addresses, history"),
        (name = "money", description = "Transfer batches and withdrawals"),
        (name = "chain", description = "Sweeps, addresses, totals"),
        (name = "events", description = "The event feed"),
        (name = "webhooks", description = "The feed pushed to your endpoints (admin)"),
    )
)]
pub struct ApiDoc;

/// Adds the problems every operation may answer.
struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, document: &mut Document) {
        let problems = [
            ("400", "A field breaks a rule (`field` names it)"),
            ("401", "No valid token"),
            (
                "403",
                "The token lacks the operation's scope, or the page's origin is refused",
            ),
            ("404", "No such user, withdrawal, sweep, address or webhook"),
            (
                "409",
                "Already exists, or the Idempotency-Key was used with another body",
            ),
            ("415", "The body is not application/json"),
            ("422", "One of Hub's rules refused it (`code` says which)"),
            ("429", "Rate limited or overloaded; see Retry-After"),
            ("500", "Hub failed; nothing was changed"),
            ("503", "The node or the credentials store is unavailable; retry"),
        ];
        for item in document.paths.paths.values_mut() {
            for operation in [item.get.as_mut(), item.post.as_mut(), item.delete.as_mut()]
                .into_iter()
                .flatten()
            {
                for (status, description) in problems {
                    let content = ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
                        .build();
                    let response = ResponseBuilder::new()
                        .description(description)
                        .content("application/problem+json", content)
                        .build();
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert(RefOr::T(response));
                }
            }
        }
    }
}

/// Declares the bearer token every operation needs.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        document.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The document as served.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

/// `GET /v1/openapi.json`.
pub(crate) async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

#[cfg(test)]
mod tests {
    /// The checked-in document is what the code generates. To accept a
    /// change: `HUB_OPENAPI_WRITE=1 cargo test -p hub-api openapi`.
    #[test]
    fn the_checked_in_openapi_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let generated = super::document() + "\n";
        if std::env::var_os("HUB_OPENAPI_WRITE").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "docs/openapi.json differs from the code; run HUB_OPENAPI_WRITE=1 cargo test -p hub-api openapi and review the change"
        );
        assert!(generated.contains("\"openapi\": \"3.1.0\""));
    }
}
