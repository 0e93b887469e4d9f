// @generated automatically by Diesel CLI.

diesel::table! {
    ads (id) {
        id -> Int8,
        title -> Text,
        slug -> Nullable<Text>,
    }
}
