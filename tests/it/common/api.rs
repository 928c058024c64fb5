//! A bearer-token client of the Mastodon API, as an app would be after logging in (one
//! for the tests of every module, instead of a copy in each).

use reqwest::StatusCode;
use serde_json::Value;

use super::{PASSWORD, TestApp};

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
}

impl Api {
    /// Registers an app and logs in as `name` (who has joined) with the password grant.
    pub async fn login(app: &TestApp, name: &str) -> Api {
        Api::login_with_scopes(app, name, "read write follow").await
    }

    /// Registers an app with `scopes` and logs in as `name` with the password grant.
    pub async fn login_with_scopes(app: &TestApp, name: &str, scopes: &str) -> Api {
        let grant = [
            ("grant_type", "password"),
            ("username", name),
            ("password", PASSWORD),
        ];
        Api::granted(app, scopes, &grant).await
    }

    /// An app's own token (client_credentials) with `scopes`, as apps use to sign people up.
    pub async fn for_app(app: &TestApp, scopes: &str) -> Api {
        Api::granted(app, scopes, &[("grant_type", "client_credentials")]).await
    }

    /// Registers an app with `scopes` and asks `/oauth/token` for a token by `grant`.
    async fn granted(app: &TestApp, scopes: &str, grant: &[(&str, &str)]) -> Api {
        let http = reqwest::Client::new();
        let reg: Value = http
            .post(format!("{}/api/v1/apps", app.base))
            .form(&[
                ("client_name", "test"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("scopes", scopes),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut form = grant.to_vec();
        form.extend([
            ("client_id", reg["client_id"].as_str().unwrap()),
            ("client_secret", reg["client_secret"].as_str().unwrap()),
            ("scope", scopes),
        ]);
        let token: Value = http
            .post(format!("{}/oauth/token", app.base))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            base: app.base.clone(),
            http,
            token: token["access_token"].as_str().expect("a token").to_owned(),
        }
    }

    /// Sends `req` with the token: the status and the JSON body (null when none).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = req.bearer_auth(&self.token).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// `GET path`, asserting 200: the body.
    pub async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// `POST path` without a body.
    pub async fn post(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)))
            .await
    }

    /// `POST path` with a form body.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).form(fields))
            .await
    }

    /// `PUT path` with a form body.
    pub async fn put_form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        self.send(self.http.put(format!("{}{path}", self.base)).form(fields))
            .await
    }

    /// `POST path` with a JSON body.
    pub async fn json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }
}
