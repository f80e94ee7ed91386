//! Authorization benchmark: the cost of one check (fast path and casbin's own
//! `enforce`), `readable_product_ids` for a user with 10,000 product
//! memberships, and a policy build. No database: the policy is built from
//! in-memory rows shaped like the tables.
//!
//! Run: `cargo bench -p palisade --bench authz`

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use palisade::authz::{Authz, Object, Permission, ReadableProducts, Role, Subject};
use palisade::db::models::membership::{
    GlobalRole, GroupMember, PolicyRows, ProductMember, ProductTypeGroup, ProductTypeMember,
};

const PRODUCT_TYPES: i64 = 100;
const PRODUCTS: i64 = 20_000;
const HEAVY_MEMBERSHIPS: i64 = 10_000;
const OTHER_USERS: i64 = 1_000;

/// User 1 is a member of 10,000 products; 1,000 other users hold a few
/// product and product-type roles; 10 groups with product-type roles; one
/// global Reader.
fn rows() -> PolicyRows {
    let mut r = PolicyRows {
        products: (1..=PRODUCTS).map(|p| (p, p % PRODUCT_TYPES + 1)).collect(),
        ..PolicyRows::default()
    };
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    let roles = [
        Role::Reader,
        Role::Writer,
        Role::Maintainer,
        Role::Owner,
        Role::API_Importer,
    ];
    for p in 1..=HEAVY_MEMBERSHIPS {
        r.product_members.push(ProductMember {
            id: next(),
            user_id: 1,
            product_id: p * 2,
            role_id: roles[usize::try_from(p % 5).unwrap_or(0)].id(),
        });
    }
    for u in 2..=OTHER_USERS + 1 {
        r.product_members.push(ProductMember {
            id: next(),
            user_id: u,
            product_id: u % PRODUCTS + 1,
            role_id: Role::Writer.id(),
        });
        r.product_type_members.push(ProductTypeMember {
            id: next(),
            user_id: u,
            product_type_id: u % PRODUCT_TYPES + 1,
            role_id: Role::Reader.id(),
        });
    }
    for g in 1..=10 {
        r.product_type_groups.push(ProductTypeGroup {
            id: next(),
            group_id: g,
            product_type_id: g,
            role_id: Role::Maintainer.id(),
        });
        for u in 0..10 {
            r.group_members.push(GroupMember {
                id: next(),
                user_id: 2 + g * 10 + u,
                group_id: g,
                role_id: Role::Reader.id(),
            });
        }
    }
    r.global_roles.push(GlobalRole {
        id: 1,
        user_id: Some(OTHER_USERS + 2),
        group_id: None,
        role_id: Role::Reader.id(),
    });
    r
}

fn per_op(total: Duration, n: u32) -> String {
    let ns = total.as_nanos() / u128::from(n);
    if ns >= 10_000 {
        format!("{:.1} µs", ns as f64 / 1_000.0)
    } else {
        format!("{ns} ns")
    }
}

fn product(id: i64) -> Object {
    Object::Product {
        id,
        product_type_id: id % PRODUCT_TYPES + 1,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rows = rows();
    let t = Instant::now();
    let authz = match Authz::from_rows(&rows).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("policy build failed: {e}");
            std::process::exit(1);
        }
    };
    let build = t.elapsed();
    let lines = rows.product_members.len()
        + rows.product_type_members.len()
        + rows.product_type_groups.len()
        + rows.group_members.len() * 2
        + rows.global_roles.len();
    println!("policy build ({lines} grouping lines, {PRODUCTS} products): {build:?}");

    let heavy = Subject::user(1);
    let perms = [
        Permission::Finding_View,
        Permission::Finding_Edit,
        Permission::Product_Delete,
        Permission::Import_Scan_Result,
    ];
    // Fast path: a mix of allowed and denied checks over many products.
    let n: u32 = 1_000_000;
    let t = Instant::now();
    let mut allowed = 0u32;
    for i in 0..n {
        let o = product(i64::from(i % 20_000) + 1);
        let s = if i % 3 == 0 {
            Subject::user(i64::from(i % 1_000) + 2)
        } else {
            heavy
        };
        allowed += u32::from(authz.can(black_box(s), perms[(i % 4) as usize], black_box(o)));
    }
    let fast = t.elapsed();
    println!(
        "Authz::can: {} per check ({n} checks, {allowed} allowed)",
        per_op(fast, n)
    );

    let n: u32 = 2_000;
    let t = Instant::now();
    let mut agree = 0u32;
    for i in 0..n {
        let o = product(i64::from(i % 20_000) + 1);
        let p = perms[(i % 4) as usize];
        let slow = authz.enforce_with_casbin(heavy, p, o).unwrap_or(false);
        agree += u32::from(slow == authz.can(heavy, p, o));
    }
    let casbin = t.elapsed();
    println!(
        "casbin enforce: {} per check ({n} checks, {agree}/{n} agree with the fast path)",
        per_op(casbin, n)
    );

    let n: u32 = 200;
    let t = Instant::now();
    let mut worst = Duration::ZERO;
    let mut count = 0;
    for _ in 0..n {
        let one = Instant::now();
        if let ReadableProducts::Some(ids) = black_box(authz.readable_product_ids(heavy)) {
            count = ids.len();
        }
        worst = worst.max(one.elapsed());
    }
    println!(
        "readable_product_ids ({HEAVY_MEMBERSHIPS} memberships -> {count} ids): {} mean, {worst:?} worst",
        per_op(t.elapsed(), n)
    );
    let t = Instant::now();
    for _ in 0..n {
        black_box(authz.readable_product_type_ids(Subject::user(50)));
    }
    println!(
        "readable_product_type_ids (light user): {}",
        per_op(t.elapsed(), n)
    );
}
