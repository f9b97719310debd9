//! What Hub did on the Tangle, and its totals: sweeps, addresses, stats
//! (all `read`).
//!
//! | path |
//! |---|
//! | `GET /v1/sweeps?cursor=&limit=` |
//! | `GET /v1/sweeps/{bundleHash}` |
//! | `GET /v1/addresses/{address}` |
//! | `GET /v1/stats` |

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::schema::{AddressInfo, Stats, Sweep, SweepDetail, SweepPage};
use super::{admit, failed, page_query, respond, PAGE_DEFAULT};
use crate::command::Command;
use crate::http::Served;
use crate::listen::Peer;

/// The sweeps, oldest first, a page at a time (abandoned ones left out).
#[utoipa::path(get, path = "/v1/sweeps", tag = "chain", params(super::PageParams),
    responses((status = 200, description = "A page of sweeps", body = SweepPage)))]
pub(crate) async fn list(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    RawQuery(query): RawQuery,
) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/sweeps",
            Command::SweepSubscription.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let (cursor, limit) = page_query(query.as_deref(), "cursor", PAGE_DEFAULT)?;
        let page = served.commands.sweeps_page(cursor, limit).await.map_err(failed)?;
        let sweeps = page
            .items
            .into_iter()
            .map(|sweep| Sweep {
                bundle_hash: sweep.bundle_hash,
                timestamp_ms: sweep.timestamp_ms,
                withdrawal_uuids: sweep.withdrawal_uuids,
            })
            .collect();
        Ok(Json(SweepPage {
            sweeps,
            next: page.next,
        })
        .into_response())
    };
    respond(call.await)
}

/// A sweep's bundle, attachments and whether it confirmed.
#[utoipa::path(get, path = "/v1/sweeps/{bundleHash}", tag = "chain",
    params(("bundleHash" = String, Path, description = "The sweep's bundle hash (81 trytes)")),
    responses((status = 200, description = "The sweep", body = SweepDetail)))]
pub(crate) async fn get(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(bundle_hash): Path<String>,
) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/sweeps",
            Command::SweepDetail.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let detail = served.commands.sweep_detail(&bundle_hash).await.map_err(failed)?;
        Ok(Json(SweepDetail {
            bundle_hash,
            confirmed: detail.confirmed,
            trytes: detail.trytes,
            tail_hashes: detail.tail_hashes,
        })
        .into_response())
    };
    respond(call.await)
}

/// The user a deposit address was given to.
#[utoipa::path(get, path = "/v1/addresses/{address}", tag = "chain",
    params(("address" = String, Path, description = "A deposit address (81 trytes, or 90 with its checksum)")),
    responses((status = 200, description = "Its owner", body = AddressInfo)))]
pub(crate) async fn address(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(address): Path<String>,
) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/addresses",
            Command::GetAddressInfo.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let user_id = served.commands.get_address_info(&address).await.map_err(failed)?;
        Ok(Json(AddressInfo { address, user_id }).into_response())
    };
    respond(call.await)
}

/// Σ of every user's available balance.
#[utoipa::path(get, path = "/v1/stats", tag = "chain",
    responses((status = 200, description = "The totals", body = Stats)))]
pub(crate) async fn stats(State(served): State<Served>, headers: HeaderMap, peer: Option<Extension<Peer>>) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/stats",
            Command::GetStats.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let stats = served.commands.get_stats().await.map_err(failed)?;
        Ok(Json(Stats {
            total_balance: stats.total_balance,
        })
        .into_response())
    };
    respond(call.await)
}
