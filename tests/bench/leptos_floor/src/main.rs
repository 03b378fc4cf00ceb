// cargo-leptos wants a binary package; the floor is the browser module only.
fn main() {}
