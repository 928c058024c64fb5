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
        approved -> Bool,
        signup_reason -> Nullable<Text>,
        email -> Nullable<Text>,
        locale -> Nullable<Text>,
        silenced_at -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        invite_id -> Nullable<BigInt>,
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
        up_count -> BigInt,
        down_count -> BigInt,
        score -> BigInt,
        best -> Double,
        reply_count -> BigInt,
        share_count -> BigInt,
        removed_at -> Nullable<Timestamp>,
        spoiler_text -> Text,
        sensitive -> Bool,
        in_reply_to_uri -> Nullable<Text>,
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

diesel::table! {
    votes (id) {
        id -> BigInt,
        ap_id -> Text,
        account_id -> BigInt,
        post_id -> BigInt,
        value -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reactions (id) {
        id -> BigInt,
        ap_id -> Text,
        account_id -> BigInt,
        post_id -> BigInt,
        emoji -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    story_follows (account_id, post_id) {
        account_id -> BigInt,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        account_id -> BigInt,
        kind -> Text,
        actor_id -> BigInt,
        post_id -> Nullable<BigInt>,
        detail -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        group_key -> Nullable<Text>,
    }
}

diesel::table! {
    reports (id) {
        id -> BigInt,
        ap_id -> Text,
        reporter_id -> Nullable<BigInt>,
        target_account_id -> BigInt,
        target_post_id -> Nullable<BigInt>,
        reason -> Text,
        status -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    mod_actions (id) {
        id -> BigInt,
        /// `NULL`: taken on the command line.
        moderator_id -> Nullable<BigInt>,
        action -> Text,
        target_account_id -> Nullable<BigInt>,
        target_post_id -> Nullable<BigInt>,
        report_id -> Nullable<BigInt>,
        note -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_apps (id) {
        id -> BigInt,
        name -> Text,
        website -> Nullable<Text>,
        redirect_uris -> Text,
        scopes -> Text,
        client_id -> Text,
        client_secret_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_codes (code_hash) {
        code_hash -> Text,
        app_id -> BigInt,
        account_id -> BigInt,
        scopes -> Text,
        redirect_uri -> Text,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    oauth_tokens (token_hash) {
        token_hash -> Text,
        app_id -> BigInt,
        account_id -> Nullable<BigInt>,
        scopes -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    follows (id) {
        id -> BigInt,
        ap_id -> Text,
        follower_id -> BigInt,
        followed_id -> BigInt,
        state -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bookmarks (id) {
        id -> BigInt,
        account_id -> BigInt,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    markers (account_id, timeline) {
        account_id -> BigInt,
        timeline -> Text,
        last_read_id -> Text,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (account_id, key) {
        account_id -> BigInt,
        key -> Text,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The instance actor's key pair (one row, id `main`).
    instance_keys (id) {
        id -> Text,
        public_key_pem -> Text,
        private_key_pem -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Ids of activities received (idempotency of the inbox).
    inbox_activities (ap_id) {
        ap_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    /// Every key a remote actor publishes (its first is also `accounts.public_key_pem`).
    account_keys (account_id, key_id) {
        account_id -> BigInt,
        key_id -> Text,
        public_key_pem -> Text,
    }
}

diesel::table! {
    /// The outgoing delivery queue.
    deliveries (id) {
        id -> BigInt,
        inbox_url -> Text,
        activity_json -> Text,
        key_id -> Text,
        actor_account_id -> Nullable<BigInt>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Shares of our posts by remote accounts (incoming `Announce`).
    announces (id) {
        id -> BigInt,
        ap_id -> Text,
        account_id -> BigInt,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Accounts a post mentions (local and remote posts).
    mentions (post_id, account_id) {
        post_id -> BigInt,
        account_id -> BigInt,
    }
}

diesel::table! {
    /// Instance settings, one row per key (the identity and what the admin sets).
    instance_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Servers blocked by the admin (issue #14, item 4); see `service::domain_blocks`.
    domain_blocks (id) {
        id -> BigInt,
        domain -> Text,
        severity -> Text,
        reject_media -> Bool,
        reject_reports -> Bool,
        private_comment -> Nullable<Text>,
        public_comment -> Nullable<Text>,
        obfuscate -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Servers federated with in the allow-list mode.
    domain_allows (id) {
        id -> BigInt,
        domain -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A post's poll (its id is the post's): titles and counts as JSON arrays.
    polls (post_id) {
        post_id -> BigInt,
        options -> Text,
        counts -> Text,
        multiple -> Bool,
        expires_at -> Nullable<Timestamp>,
        voters_count -> Nullable<BigInt>,
        closed -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// One row per choice of a voter in a poll.
    poll_votes (id) {
        id -> BigInt,
        ap_id -> Text,
        post_id -> BigInt,
        account_id -> BigInt,
        choice -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// An account's marks on a direct conversation (by thread root): read, removed.
    conversation_marks (account_id, root_id) {
        account_id -> BigInt,
        root_id -> BigInt,
        read_up_to -> BigInt,
        removed_up_to -> BigInt,
    }
}

diesel::table! {
    /// Media attachments: local uploads (processing, ready or failed) and remote posts'
    /// attachments; `post_id` once attached.
    media (id) {
        id -> BigInt,
        account_id -> BigInt,
        post_id -> Nullable<BigInt>,
        position -> Integer,
        kind -> Text,
        state -> Text,
        error -> Nullable<Text>,
        file_name -> Nullable<Text>,
        content_type -> Nullable<Text>,
        file_size -> Nullable<BigInt>,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        preview_name -> Nullable<Text>,
        preview_width -> Nullable<Integer>,
        preview_height -> Nullable<Integer>,
        blurhash -> Nullable<Text>,
        description -> Text,
        focus_x -> Nullable<Double>,
        focus_y -> Nullable<Double>,
        remote_url -> Nullable<Text>,
        remote_preview_url -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Invitation links (`created_by` NULL: made on the command line).
    invites (id) {
        id -> BigInt,
        code -> Text,
        created_by -> Nullable<BigInt>,
        max_uses -> Nullable<Integer>,
        uses -> Integer,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(posts -> accounts (account_id));
diesel::joinable!(polls -> posts (post_id));
diesel::joinable!(poll_votes -> posts (post_id));
diesel::joinable!(mentions -> posts (post_id));
diesel::joinable!(account_keys -> accounts (account_id));
diesel::joinable!(announces -> posts (post_id));
diesel::joinable!(oauth_tokens -> oauth_apps (app_id));
diesel::joinable!(bookmarks -> posts (post_id));
diesel::joinable!(votes -> posts (post_id));
diesel::joinable!(reactions -> posts (post_id));
diesel::joinable!(story_follows -> posts (post_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(post_tags -> tags (tag_id));
diesel::joinable!(sessions -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    account_keys,
    invites,
    posts,
    tags,
    post_tags,
    sessions,
    votes,
    reactions,
    story_follows,
    notifications,
    reports,
    mod_actions,
    oauth_apps,
    oauth_codes,
    oauth_tokens,
    follows,
    bookmarks,
    markers,
    idempotency_keys,
    announces,
    mentions,
    polls,
    poll_votes,
    conversation_marks,
    media,
);
