//! The import engine's permission hook, answered by access control.

use crate::authz::{Authz, Object, Permission, Subject};
use crate::import::{GuardDenied, ImportGuard, ImportKind, ResolvedTarget, TargetPart};

/// Checks an import's target against the subject's roles, as DefectDojo's
/// auto-create rules do: creating a product type needs `Product_Type_Add`,
/// a product `Product_Type_Add_Product` on its type, an engagement
/// `Engagement_Add` on the product, and importing `Import_Scan_Result`.
pub struct AuthzGuard {
    /// The policy.
    pub authz: Authz,
    /// Who imports.
    pub subject: Subject,
}

impl AuthzGuard {
    fn need(&self, p: Permission, o: Object, what: &str) -> Result<(), GuardDenied> {
        if self.authz.can(self.subject, p, o) {
            Ok(())
        } else {
            Err(GuardDenied(format!("{} on {what} is required", p.name())))
        }
    }
}

fn name(part: &TargetPart) -> &str {
    match part {
        TargetPart::Existing { name, .. } | TargetPart::New { name } => name,
    }
}

impl ImportGuard for AuthzGuard {
    fn authorize(&self, t: &ResolvedTarget) -> Result<(), GuardDenied> {
        let product = match (&t.product_type, &t.product) {
            (TargetPart::Existing { id: pt, .. }, TargetPart::Existing { id, .. }) => {
                Some(Object::Product {
                    id: *id,
                    product_type_id: *pt,
                })
            }
            (
                TargetPart::Existing {
                    id: pt,
                    name: pt_name,
                },
                TargetPart::New { name },
            ) => {
                self.need(
                    Permission::Product_Type_Add_Product,
                    Object::ProductType(*pt),
                    &format!("product type `{pt_name}` to create product `{name}`"),
                )?;
                None
            }
            (TargetPart::New { name: pt_name }, _) => {
                self.need(
                    Permission::Product_Type_Add,
                    Object::Global,
                    &format!("the server to create product type `{pt_name}`"),
                )?;
                None
            }
        };
        let Some(product) = product else {
            // Whoever may create the product owns what goes into it.
            return Ok(());
        };
        let product_name = name(&t.product);
        if !self
            .authz
            .can(self.subject, Permission::Product_View, product)
        {
            // Target resolution answers this case as "not found" first; this
            // is the backstop, and it must not name what the caller cannot see.
            return Err(GuardDenied(
                "the target product does not exist or is not visible to you".to_owned(),
            ));
        }
        if let TargetPart::New { name } = &t.engagement {
            self.need(
                Permission::Engagement_Add,
                product,
                &format!("product `{product_name}` to create engagement `{name}`"),
            )?;
        }
        let what = match t.kind {
            ImportKind::Import => format!("product `{product_name}`"),
            ImportKind::Reimport => match t.test.as_ref() {
                Some(test) => format!(
                    "product `{product_name}` to reimport into test `{}`",
                    name(test)
                ),
                None => format!("product `{product_name}` to reimport"),
            },
        };
        self.need(Permission::Import_Scan_Result, product, &what)
    }

    fn product_visible(&self, product_type_id: i64, product_id: i64) -> bool {
        self.authz.can(
            self.subject,
            Permission::Product_View,
            Object::Product {
                id: product_id,
                product_type_id,
            },
        )
    }

    fn product_type_visible(&self, product_type_id: i64) -> bool {
        self.authz.can(
            self.subject,
            Permission::Product_Type_View,
            Object::ProductType(product_type_id),
        )
    }
}
