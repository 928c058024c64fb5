//! Table definitions shared by both backends (kept in step with migrations/).

diesel::table! {
    accounts (id) {
        id -> BigInt,
        username -> Text,
        username_lower -> Text,
        domain -> Nullable<Text>,
        display_name -> Text,
        bio -> Text,
        ap_id -> Text,
        url -> Nullable<Text>,
        inbox_url -> Nullable<Text>,
        shared_inbox_url -> Nullable<Text>,
        followers_url -> Nullable<Text>,
        public_key_pem -> Text,
        private_key_pem -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        is_admin -> Bool,
        is_moderator -> Bool,
        suspended_at -> Nullable<Timestamp>,
        last_fetched_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        account_id -> BigInt,
        ap_id -> Text,
        url -> Nullable<Text>,
        local -> Bool,
        headline -> Nullable<Text>,
        body -> Text,
        content_html -> Text,
        in_reply_to_id -> Nullable<BigInt>,
        thread_root_id -> Nullable<BigInt>,
        visibility -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        name -> Text,
        name_lower -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    post_tags (tag_id, post_id) {
        tag_id -> BigInt,
        post_id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        account_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(posts -> accounts (account_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(post_tags -> tags (tag_id));
diesel::joinable!(sessions -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(accounts, posts, tags, post_tags, sessions);
