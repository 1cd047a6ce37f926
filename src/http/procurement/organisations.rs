//! `/v1/procurement/organizations/{id}/standing`: how many of a vendor's confirmed staff hold
//! a scheme in good standing.

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
