use crate::db_test;

db_test! {
    async fn readiness_is_200_once_migrations_have_run(app: TestApp) {
        let response = app.get("/health/ready").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["checks"][0]["name"], "database");
        assert_eq!(body["checks"][1]["name"], "migrations");
    }
}

db_test! {
    async fn liveness_answers_without_touching_anything(app: TestApp) {
        assert_eq!(app.get("/health/live").await.status(), 200);
    }
}

db_test! {
    async fn an_unknown_route_is_a_problem_json_404(app: TestApp) {
        let response = app.get("/no/such/route").await;
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], 404);
    }
}

db_test! {
    async fn the_openapi_document_is_3_1_and_lists_the_health_routes(app: TestApp) {
        let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/health/ready"]["get"].is_object());
        assert!(doc["paths"]["/health/live"]["get"].is_object());
    }
}

db_test! {
    async fn the_docs_page_is_served_from_the_binary(app: TestApp) {
        let response = app.get("/docs/").await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("swagger"), "{html}");
        assert!(!html.contains("cdn"), "docs must not load from a CDN");
    }
}
