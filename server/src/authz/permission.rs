//! The permission and role vocabulary of DefectDojo's classic RBAC, and the
//! role -> permission matrix.
//!
//! The tables were generated from `permissions.json` (kept beside this file so
//! the crate stands alone); a unit test compares them with that file, so an
//! edit to either side without the other fails the build's tests.

use std::fmt;

/// A fine-grained permission; the discriminant is DefectDojo's numeric id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[expect(
    non_camel_case_types,
    reason = "DefectDojo's names, used verbatim in the policy, the API and permissions.json"
)]
#[repr(u16)]
pub enum Permission {
    /// `Product_Type_Add_Product` (1001).
    Product_Type_Add_Product = 1001,
    /// `Product_Type_View` (1002).
    Product_Type_View = 1002,
    /// `Product_Type_Member_Delete` (1003).
    Product_Type_Member_Delete = 1003,
    /// `Product_Type_Manage_Members` (1004).
    Product_Type_Manage_Members = 1004,
    /// `Product_Type_Member_Add_Owner` (1005).
    Product_Type_Member_Add_Owner = 1005,
    /// `Product_Type_Edit` (1006).
    Product_Type_Edit = 1006,
    /// `Product_Type_Delete` (1007).
    Product_Type_Delete = 1007,
    /// `Product_Type_Add` (1008).
    Product_Type_Add = 1008,
    /// `Product_View` (1102).
    Product_View = 1102,
    /// `Product_Member_Delete` (1103).
    Product_Member_Delete = 1103,
    /// `Product_Manage_Members` (1104).
    Product_Manage_Members = 1104,
    /// `Product_Member_Add_Owner` (1105).
    Product_Member_Add_Owner = 1105,
    /// `Product_Configure_Notifications` (1106).
    Product_Configure_Notifications = 1106,
    /// `Product_Edit` (1107).
    Product_Edit = 1107,
    /// `Product_Delete` (1108).
    Product_Delete = 1108,
    /// `Engagement_View` (1202).
    Engagement_View = 1202,
    /// `Engagement_Add` (1203).
    Engagement_Add = 1203,
    /// `Engagement_Edit` (1206).
    Engagement_Edit = 1206,
    /// `Engagement_Delete` (1207).
    Engagement_Delete = 1207,
    /// `Risk_Acceptance` (1208).
    Risk_Acceptance = 1208,
    /// `Test_View` (1302).
    Test_View = 1302,
    /// `Test_Add` (1303).
    Test_Add = 1303,
    /// `Test_Edit` (1306).
    Test_Edit = 1306,
    /// `Test_Delete` (1307).
    Test_Delete = 1307,
    /// `Finding_View` (1402).
    Finding_View = 1402,
    /// `Finding_Add` (1403).
    Finding_Add = 1403,
    /// `Import_Scan_Result` (1404).
    Import_Scan_Result = 1404,
    /// `Finding_Edit` (1406).
    Finding_Edit = 1406,
    /// `Finding_Delete` (1407).
    Finding_Delete = 1407,
    /// `Location_View` (1502).
    Location_View = 1502,
    /// `Location_Add` (1503).
    Location_Add = 1503,
    /// `Location_Edit` (1506).
    Location_Edit = 1506,
    /// `Location_Delete` (1507).
    Location_Delete = 1507,
    /// `Benchmark_Edit` (1606).
    Benchmark_Edit = 1606,
    /// `Benchmark_Delete` (1607).
    Benchmark_Delete = 1607,
    /// `Component_View` (1702).
    Component_View = 1702,
    /// `Note_View_History` (1802).
    Note_View_History = 1802,
    /// `Note_Add` (1803).
    Note_Add = 1803,
    /// `Note_Edit` (1806).
    Note_Edit = 1806,
    /// `Note_Delete` (1807).
    Note_Delete = 1807,
    /// `Finding_Group_View` (1902).
    Finding_Group_View = 1902,
    /// `Finding_Group_Add` (1903).
    Finding_Group_Add = 1903,
    /// `Finding_Group_Edit` (1906).
    Finding_Group_Edit = 1906,
    /// `Finding_Group_Delete` (1907).
    Finding_Group_Delete = 1907,
    /// `Product_Type_Group_View` (2002).
    Product_Type_Group_View = 2002,
    /// `Product_Type_Group_Add` (2003).
    Product_Type_Group_Add = 2003,
    /// `Product_Type_Group_Add_Owner` (2005).
    Product_Type_Group_Add_Owner = 2005,
    /// `Product_Type_Group_Edit` (2006).
    Product_Type_Group_Edit = 2006,
    /// `Product_Type_Group_Delete` (2007).
    Product_Type_Group_Delete = 2007,
    /// `Product_Group_View` (2102).
    Product_Group_View = 2102,
    /// `Product_Group_Add` (2103).
    Product_Group_Add = 2103,
    /// `Product_Group_Add_Owner` (2105).
    Product_Group_Add_Owner = 2105,
    /// `Product_Group_Edit` (2106).
    Product_Group_Edit = 2106,
    /// `Product_Group_Delete` (2107).
    Product_Group_Delete = 2107,
    /// `Group_View` (2202).
    Group_View = 2202,
    /// `Group_Member_Delete` (2203).
    Group_Member_Delete = 2203,
    /// `Group_Manage_Members` (2204).
    Group_Manage_Members = 2204,
    /// `Group_Add_Owner` (2205).
    Group_Add_Owner = 2205,
    /// `Group_Edit` (2206).
    Group_Edit = 2206,
    /// `Group_Delete` (2207).
    Group_Delete = 2207,
    /// `Language_View` (2302).
    Language_View = 2302,
    /// `Language_Add` (2303).
    Language_Add = 2303,
    /// `Language_Edit` (2306).
    Language_Edit = 2306,
    /// `Language_Delete` (2307).
    Language_Delete = 2307,
    /// `Technology_View` (2402).
    Technology_View = 2402,
    /// `Technology_Add` (2403).
    Technology_Add = 2403,
    /// `Technology_Edit` (2406).
    Technology_Edit = 2406,
    /// `Technology_Delete` (2407).
    Technology_Delete = 2407,
    /// `Product_API_Scan_Configuration_View` (2502).
    Product_API_Scan_Configuration_View = 2502,
    /// `Product_API_Scan_Configuration_Add` (2503).
    Product_API_Scan_Configuration_Add = 2503,
    /// `Product_API_Scan_Configuration_Edit` (2506).
    Product_API_Scan_Configuration_Edit = 2506,
    /// `Product_API_Scan_Configuration_Delete` (2507).
    Product_API_Scan_Configuration_Delete = 2507,
    /// `Product_Tracking_Files_View` (2602).
    Product_Tracking_Files_View = 2602,
    /// `Product_Tracking_Files_Add` (2603).
    Product_Tracking_Files_Add = 2603,
    /// `Product_Tracking_Files_Edit` (2606).
    Product_Tracking_Files_Edit = 2606,
    /// `Product_Tracking_Files_Delete` (2607).
    Product_Tracking_Files_Delete = 2607,
}

/// Every permission, in the order of `permissions.json` (which is by id).
pub const ALL: [Permission; 76] = [
    Permission::Product_Type_Add_Product,
    Permission::Product_Type_View,
    Permission::Product_Type_Member_Delete,
    Permission::Product_Type_Manage_Members,
    Permission::Product_Type_Member_Add_Owner,
    Permission::Product_Type_Edit,
    Permission::Product_Type_Delete,
    Permission::Product_Type_Add,
    Permission::Product_View,
    Permission::Product_Member_Delete,
    Permission::Product_Manage_Members,
    Permission::Product_Member_Add_Owner,
    Permission::Product_Configure_Notifications,
    Permission::Product_Edit,
    Permission::Product_Delete,
    Permission::Engagement_View,
    Permission::Engagement_Add,
    Permission::Engagement_Edit,
    Permission::Engagement_Delete,
    Permission::Risk_Acceptance,
    Permission::Test_View,
    Permission::Test_Add,
    Permission::Test_Edit,
    Permission::Test_Delete,
    Permission::Finding_View,
    Permission::Finding_Add,
    Permission::Import_Scan_Result,
    Permission::Finding_Edit,
    Permission::Finding_Delete,
    Permission::Location_View,
    Permission::Location_Add,
    Permission::Location_Edit,
    Permission::Location_Delete,
    Permission::Benchmark_Edit,
    Permission::Benchmark_Delete,
    Permission::Component_View,
    Permission::Note_View_History,
    Permission::Note_Add,
    Permission::Note_Edit,
    Permission::Note_Delete,
    Permission::Finding_Group_View,
    Permission::Finding_Group_Add,
    Permission::Finding_Group_Edit,
    Permission::Finding_Group_Delete,
    Permission::Product_Type_Group_View,
    Permission::Product_Type_Group_Add,
    Permission::Product_Type_Group_Add_Owner,
    Permission::Product_Type_Group_Edit,
    Permission::Product_Type_Group_Delete,
    Permission::Product_Group_View,
    Permission::Product_Group_Add,
    Permission::Product_Group_Add_Owner,
    Permission::Product_Group_Edit,
    Permission::Product_Group_Delete,
    Permission::Group_View,
    Permission::Group_Member_Delete,
    Permission::Group_Manage_Members,
    Permission::Group_Add_Owner,
    Permission::Group_Edit,
    Permission::Group_Delete,
    Permission::Language_View,
    Permission::Language_Add,
    Permission::Language_Edit,
    Permission::Language_Delete,
    Permission::Technology_View,
    Permission::Technology_Add,
    Permission::Technology_Edit,
    Permission::Technology_Delete,
    Permission::Product_API_Scan_Configuration_View,
    Permission::Product_API_Scan_Configuration_Add,
    Permission::Product_API_Scan_Configuration_Edit,
    Permission::Product_API_Scan_Configuration_Delete,
    Permission::Product_Tracking_Files_View,
    Permission::Product_Tracking_Files_Add,
    Permission::Product_Tracking_Files_Edit,
    Permission::Product_Tracking_Files_Delete,
];

/// How many permissions exist; a [`PermissionSet`] has one bit per permission.
pub const COUNT: usize = ALL.len();

impl Permission {
    /// The numeric id (`Product_View` is 1102).
    pub fn id(self) -> u16 {
        self as u16
    }

    /// The permission with this numeric id.
    pub fn from_id(id: u16) -> Option<Permission> {
        ALL.iter().copied().find(|p| p.id() == id)
    }

    /// The permission with this name, as in `permissions.json`.
    pub fn from_name(name: &str) -> Option<Permission> {
        ALL.iter().copied().find(|p| p.name() == name)
    }

    /// Position in [`ALL`]; the bit used in a [`PermissionSet`].
    pub fn index(self) -> usize {
        // ALL is sorted by id, so a binary search finds the position in a
        // handful of comparisons.
        ALL.binary_search(&self).unwrap_or(0)
    }

    /// The name used in `permissions.json` and in the casbin policy.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Product_Type_Add_Product => "Product_Type_Add_Product",
            Permission::Product_Type_View => "Product_Type_View",
            Permission::Product_Type_Member_Delete => "Product_Type_Member_Delete",
            Permission::Product_Type_Manage_Members => "Product_Type_Manage_Members",
            Permission::Product_Type_Member_Add_Owner => "Product_Type_Member_Add_Owner",
            Permission::Product_Type_Edit => "Product_Type_Edit",
            Permission::Product_Type_Delete => "Product_Type_Delete",
            Permission::Product_Type_Add => "Product_Type_Add",
            Permission::Product_View => "Product_View",
            Permission::Product_Member_Delete => "Product_Member_Delete",
            Permission::Product_Manage_Members => "Product_Manage_Members",
            Permission::Product_Member_Add_Owner => "Product_Member_Add_Owner",
            Permission::Product_Configure_Notifications => "Product_Configure_Notifications",
            Permission::Product_Edit => "Product_Edit",
            Permission::Product_Delete => "Product_Delete",
            Permission::Engagement_View => "Engagement_View",
            Permission::Engagement_Add => "Engagement_Add",
            Permission::Engagement_Edit => "Engagement_Edit",
            Permission::Engagement_Delete => "Engagement_Delete",
            Permission::Risk_Acceptance => "Risk_Acceptance",
            Permission::Test_View => "Test_View",
            Permission::Test_Add => "Test_Add",
            Permission::Test_Edit => "Test_Edit",
            Permission::Test_Delete => "Test_Delete",
            Permission::Finding_View => "Finding_View",
            Permission::Finding_Add => "Finding_Add",
            Permission::Import_Scan_Result => "Import_Scan_Result",
            Permission::Finding_Edit => "Finding_Edit",
            Permission::Finding_Delete => "Finding_Delete",
            Permission::Location_View => "Location_View",
            Permission::Location_Add => "Location_Add",
            Permission::Location_Edit => "Location_Edit",
            Permission::Location_Delete => "Location_Delete",
            Permission::Benchmark_Edit => "Benchmark_Edit",
            Permission::Benchmark_Delete => "Benchmark_Delete",
            Permission::Component_View => "Component_View",
            Permission::Note_View_History => "Note_View_History",
            Permission::Note_Add => "Note_Add",
            Permission::Note_Edit => "Note_Edit",
            Permission::Note_Delete => "Note_Delete",
            Permission::Finding_Group_View => "Finding_Group_View",
            Permission::Finding_Group_Add => "Finding_Group_Add",
            Permission::Finding_Group_Edit => "Finding_Group_Edit",
            Permission::Finding_Group_Delete => "Finding_Group_Delete",
            Permission::Product_Type_Group_View => "Product_Type_Group_View",
            Permission::Product_Type_Group_Add => "Product_Type_Group_Add",
            Permission::Product_Type_Group_Add_Owner => "Product_Type_Group_Add_Owner",
            Permission::Product_Type_Group_Edit => "Product_Type_Group_Edit",
            Permission::Product_Type_Group_Delete => "Product_Type_Group_Delete",
            Permission::Product_Group_View => "Product_Group_View",
            Permission::Product_Group_Add => "Product_Group_Add",
            Permission::Product_Group_Add_Owner => "Product_Group_Add_Owner",
            Permission::Product_Group_Edit => "Product_Group_Edit",
            Permission::Product_Group_Delete => "Product_Group_Delete",
            Permission::Group_View => "Group_View",
            Permission::Group_Member_Delete => "Group_Member_Delete",
            Permission::Group_Manage_Members => "Group_Manage_Members",
            Permission::Group_Add_Owner => "Group_Add_Owner",
            Permission::Group_Edit => "Group_Edit",
            Permission::Group_Delete => "Group_Delete",
            Permission::Language_View => "Language_View",
            Permission::Language_Add => "Language_Add",
            Permission::Language_Edit => "Language_Edit",
            Permission::Language_Delete => "Language_Delete",
            Permission::Technology_View => "Technology_View",
            Permission::Technology_Add => "Technology_Add",
            Permission::Technology_Edit => "Technology_Edit",
            Permission::Technology_Delete => "Technology_Delete",
            Permission::Product_API_Scan_Configuration_View => {
                "Product_API_Scan_Configuration_View"
            }
            Permission::Product_API_Scan_Configuration_Add => "Product_API_Scan_Configuration_Add",
            Permission::Product_API_Scan_Configuration_Edit => {
                "Product_API_Scan_Configuration_Edit"
            }
            Permission::Product_API_Scan_Configuration_Delete => {
                "Product_API_Scan_Configuration_Delete"
            }
            Permission::Product_Tracking_Files_View => "Product_Tracking_Files_View",
            Permission::Product_Tracking_Files_Add => "Product_Tracking_Files_Add",
            Permission::Product_Tracking_Files_Edit => "Product_Tracking_Files_Edit",
            Permission::Product_Tracking_Files_Delete => "Product_Tracking_Files_Delete",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of permissions as a bit mask (76 permissions fit in a `u128`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u128);

impl PermissionSet {
    /// The empty set.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// The set holding `perms`.
    pub fn of(perms: &[Permission]) -> PermissionSet {
        perms.iter().fold(PermissionSet::EMPTY, |s, p| s.with(*p))
    }

    /// This set plus `p`.
    #[must_use]
    pub fn with(self, p: Permission) -> PermissionSet {
        PermissionSet(self.0 | (1u128 << p.index()))
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Permission) -> bool {
        self.0 & (1u128 << p.index()) != 0
    }

    /// The union of both sets.
    #[must_use]
    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    /// Whether every permission of `self` is also in `other`.
    pub fn is_subset(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The permissions in the set, by id.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

/// A membership role. The discriminant is the `roles.id` in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[expect(
    non_camel_case_types,
    reason = "DefectDojo's names, used verbatim in the policy, the API and permissions.json"
)]
#[repr(i16)]
pub enum Role {
    /// Views, plus adding engagements and importing scans (CI pipelines).
    API_Importer = 1,
    /// Reader plus adding and editing engagements, tests and findings.
    Writer = 2,
    /// Writer plus deleting, editing the product and managing members.
    Maintainer = 3,
    /// Maintainer plus deleting the product and granting `Owner`.
    Owner = 4,
    /// Views everything in scope and adds notes.
    Reader = 5,
}

impl Role {
    /// Every role, lowest privilege first (the order [`Role::rank`] uses).
    pub const ALL: [Role; 5] = [
        Role::Reader,
        Role::API_Importer,
        Role::Writer,
        Role::Maintainer,
        Role::Owner,
    ];

    /// The role with this `roles.id`.
    pub fn from_id(id: i16) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The role with this name (`"API_Importer"`, ...).
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The `roles.id` of this role.
    pub fn id(self) -> i16 {
        self as i16
    }

    /// The name, as in `permissions.json` and the `roles` table.
    pub fn name(self) -> &'static str {
        match self {
            Role::API_Importer => "API_Importer",
            Role::Writer => "Writer",
            Role::Maintainer => "Maintainer",
            Role::Owner => "Owner",
            Role::Reader => "Reader",
        }
    }

    /// Whether this is the owner role (`roles.is_owner`).
    pub fn is_owner(self) -> bool {
        matches!(self, Role::Owner)
    }

    /// Privilege order: Reader < API_Importer < Writer < Maintainer < Owner.
    ///
    /// Reader and API_Importer are not strictly nested (only Reader may add
    /// notes, only API_Importer may import), so the order between those two
    /// is a convention; use [`Role::permissions`] when exactness matters.
    pub fn rank(self) -> u8 {
        match self {
            Role::Reader => 0,
            Role::API_Importer => 1,
            Role::Writer => 2,
            Role::Maintainer => 3,
            Role::Owner => 4,
        }
    }

    /// The permissions a membership with this role grants on its object.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::API_Importer => API_IMPORTER,
            Role::Writer => WRITER,
            Role::Maintainer => MAINTAINER,
            Role::Owner => OWNER,
            Role::Reader => READER,
        }
    }

    /// Permissions a *global* role grants beyond [`Role::permissions`]:
    /// global Maintainers and Owners may create product types.
    pub fn global_extra_permissions(self) -> &'static [Permission] {
        match self {
            Role::Maintainer | Role::Owner => &[Permission::Product_Type_Add],
            _ => &[],
        }
    }

    /// Whether a membership with this role grants `p`.
    pub fn has(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Permissions of `API_Importer` (15).
const API_IMPORTER: &[Permission] = &[
    Permission::Product_Type_View,
    Permission::Product_View,
    Permission::Engagement_View,
    Permission::Engagement_Add,
    Permission::Engagement_Edit,
    Permission::Test_View,
    Permission::Test_Edit,
    Permission::Finding_View,
    Permission::Import_Scan_Result,
    Permission::Location_View,
    Permission::Component_View,
    Permission::Finding_Group_View,
    Permission::Product_Type_Group_View,
    Permission::Product_Group_View,
    Permission::Technology_View,
];
/// Permissions of `Writer` (37).
const WRITER: &[Permission] = &[
    Permission::Product_Type_View,
    Permission::Product_View,
    Permission::Engagement_View,
    Permission::Engagement_Add,
    Permission::Engagement_Edit,
    Permission::Risk_Acceptance,
    Permission::Test_View,
    Permission::Test_Add,
    Permission::Test_Edit,
    Permission::Finding_View,
    Permission::Finding_Add,
    Permission::Import_Scan_Result,
    Permission::Finding_Edit,
    Permission::Location_View,
    Permission::Location_Add,
    Permission::Location_Edit,
    Permission::Benchmark_Edit,
    Permission::Component_View,
    Permission::Note_View_History,
    Permission::Note_Add,
    Permission::Note_Edit,
    Permission::Finding_Group_View,
    Permission::Finding_Group_Add,
    Permission::Finding_Group_Edit,
    Permission::Finding_Group_Delete,
    Permission::Product_Type_Group_View,
    Permission::Product_Group_View,
    Permission::Group_View,
    Permission::Language_View,
    Permission::Language_Add,
    Permission::Language_Edit,
    Permission::Language_Delete,
    Permission::Technology_View,
    Permission::Technology_Add,
    Permission::Technology_Edit,
    Permission::Product_API_Scan_Configuration_View,
    Permission::Product_Tracking_Files_View,
];
/// Permissions of `Maintainer` (67).
const MAINTAINER: &[Permission] = &[
    Permission::Product_Type_Add_Product,
    Permission::Product_Type_View,
    Permission::Product_Type_Member_Delete,
    Permission::Product_Type_Manage_Members,
    Permission::Product_Type_Edit,
    Permission::Product_View,
    Permission::Product_Member_Delete,
    Permission::Product_Manage_Members,
    Permission::Product_Configure_Notifications,
    Permission::Product_Edit,
    Permission::Engagement_View,
    Permission::Engagement_Add,
    Permission::Engagement_Edit,
    Permission::Engagement_Delete,
    Permission::Risk_Acceptance,
    Permission::Test_View,
    Permission::Test_Add,
    Permission::Test_Edit,
    Permission::Test_Delete,
    Permission::Finding_View,
    Permission::Finding_Add,
    Permission::Import_Scan_Result,
    Permission::Finding_Edit,
    Permission::Finding_Delete,
    Permission::Location_View,
    Permission::Location_Add,
    Permission::Location_Edit,
    Permission::Location_Delete,
    Permission::Benchmark_Edit,
    Permission::Benchmark_Delete,
    Permission::Component_View,
    Permission::Note_View_History,
    Permission::Note_Add,
    Permission::Note_Edit,
    Permission::Note_Delete,
    Permission::Finding_Group_View,
    Permission::Finding_Group_Add,
    Permission::Finding_Group_Edit,
    Permission::Finding_Group_Delete,
    Permission::Product_Type_Group_View,
    Permission::Product_Type_Group_Add,
    Permission::Product_Type_Group_Edit,
    Permission::Product_Type_Group_Delete,
    Permission::Product_Group_View,
    Permission::Product_Group_Add,
    Permission::Product_Group_Edit,
    Permission::Product_Group_Delete,
    Permission::Group_View,
    Permission::Group_Member_Delete,
    Permission::Group_Manage_Members,
    Permission::Group_Edit,
    Permission::Language_View,
    Permission::Language_Add,
    Permission::Language_Edit,
    Permission::Language_Delete,
    Permission::Technology_View,
    Permission::Technology_Add,
    Permission::Technology_Edit,
    Permission::Technology_Delete,
    Permission::Product_API_Scan_Configuration_View,
    Permission::Product_API_Scan_Configuration_Add,
    Permission::Product_API_Scan_Configuration_Edit,
    Permission::Product_API_Scan_Configuration_Delete,
    Permission::Product_Tracking_Files_View,
    Permission::Product_Tracking_Files_Add,
    Permission::Product_Tracking_Files_Edit,
    Permission::Product_Tracking_Files_Delete,
];
/// Permissions of `Owner` (75).
const OWNER: &[Permission] = &[
    Permission::Product_Type_Add_Product,
    Permission::Product_Type_View,
    Permission::Product_Type_Member_Delete,
    Permission::Product_Type_Manage_Members,
    Permission::Product_Type_Member_Add_Owner,
    Permission::Product_Type_Edit,
    Permission::Product_Type_Delete,
    Permission::Product_View,
    Permission::Product_Member_Delete,
    Permission::Product_Manage_Members,
    Permission::Product_Member_Add_Owner,
    Permission::Product_Configure_Notifications,
    Permission::Product_Edit,
    Permission::Product_Delete,
    Permission::Engagement_View,
    Permission::Engagement_Add,
    Permission::Engagement_Edit,
    Permission::Engagement_Delete,
    Permission::Risk_Acceptance,
    Permission::Test_View,
    Permission::Test_Add,
    Permission::Test_Edit,
    Permission::Test_Delete,
    Permission::Finding_View,
    Permission::Finding_Add,
    Permission::Import_Scan_Result,
    Permission::Finding_Edit,
    Permission::Finding_Delete,
    Permission::Location_View,
    Permission::Location_Add,
    Permission::Location_Edit,
    Permission::Location_Delete,
    Permission::Benchmark_Edit,
    Permission::Benchmark_Delete,
    Permission::Component_View,
    Permission::Note_View_History,
    Permission::Note_Add,
    Permission::Note_Edit,
    Permission::Note_Delete,
    Permission::Finding_Group_View,
    Permission::Finding_Group_Add,
    Permission::Finding_Group_Edit,
    Permission::Finding_Group_Delete,
    Permission::Product_Type_Group_View,
    Permission::Product_Type_Group_Add,
    Permission::Product_Type_Group_Add_Owner,
    Permission::Product_Type_Group_Edit,
    Permission::Product_Type_Group_Delete,
    Permission::Product_Group_View,
    Permission::Product_Group_Add,
    Permission::Product_Group_Add_Owner,
    Permission::Product_Group_Edit,
    Permission::Product_Group_Delete,
    Permission::Group_View,
    Permission::Group_Member_Delete,
    Permission::Group_Manage_Members,
    Permission::Group_Add_Owner,
    Permission::Group_Edit,
    Permission::Group_Delete,
    Permission::Language_View,
    Permission::Language_Add,
    Permission::Language_Edit,
    Permission::Language_Delete,
    Permission::Technology_View,
    Permission::Technology_Add,
    Permission::Technology_Edit,
    Permission::Technology_Delete,
    Permission::Product_API_Scan_Configuration_View,
    Permission::Product_API_Scan_Configuration_Add,
    Permission::Product_API_Scan_Configuration_Edit,
    Permission::Product_API_Scan_Configuration_Delete,
    Permission::Product_Tracking_Files_View,
    Permission::Product_Tracking_Files_Add,
    Permission::Product_Tracking_Files_Edit,
    Permission::Product_Tracking_Files_Delete,
];
/// Permissions of `Reader` (16).
const READER: &[Permission] = &[
    Permission::Product_Type_View,
    Permission::Product_View,
    Permission::Engagement_View,
    Permission::Test_View,
    Permission::Finding_View,
    Permission::Location_View,
    Permission::Component_View,
    Permission::Note_Add,
    Permission::Finding_Group_View,
    Permission::Product_Type_Group_View,
    Permission::Product_Group_View,
    Permission::Group_View,
    Permission::Language_View,
    Permission::Technology_View,
    Permission::Product_API_Scan_Configuration_View,
    Permission::Product_Tracking_Files_View,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn spec() -> Value {
        serde_json::from_str(include_str!("permissions.json")).expect("permissions.json parses")
    }

    #[test]
    fn permission_ids_match_the_spec() {
        let spec = spec();
        let perms = spec["permissions"].as_object().expect("permissions object");
        assert_eq!(perms.len(), 76);
        assert_eq!(ALL.len(), perms.len());
        for (name, id) in perms {
            let p = Permission::from_name(name).unwrap_or_else(|| panic!("missing {name}"));
            assert_eq!(
                u64::from(p.id()),
                id.as_u64().expect("numeric id"),
                "{name}"
            );
            assert_eq!(Permission::from_id(p.id()), Some(p));
        }
        // Sorted and unique: index() relies on it.
        assert!(ALL.windows(2).all(|w| w[0] < w[1]));
        for (i, p) in ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
        }
    }

    #[test]
    fn role_ids_match_the_spec() {
        let spec = spec();
        let roles = spec["roles"].as_object().expect("roles object");
        assert_eq!(roles.len(), Role::ALL.len());
        for (name, id) in roles {
            let r = Role::from_name(name).unwrap_or_else(|| panic!("missing {name}"));
            assert_eq!(i64::from(r.id()), id.as_i64().expect("numeric id"));
            assert_eq!(Role::from_id(r.id()), Some(r));
            let owner = spec["role_is_owner"][name.as_str()]
                .as_bool()
                .unwrap_or(false);
            assert_eq!(r.is_owner(), owner, "{name}");
        }
    }

    #[test]
    fn role_matrix_matches_the_spec() {
        let spec = spec();
        for role in Role::ALL {
            let want: Vec<&str> = spec["role_permissions"][role.name()]
                .as_array()
                .expect("role list")
                .iter()
                .map(|v| v.as_str().expect("name"))
                .collect();
            let got: Vec<&str> = role.permissions().iter().map(|p| p.name()).collect();
            assert_eq!(got, want, "{role}");
            let extra: Vec<&str> = spec["global_role_extra_permissions"][role.name()]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().expect("name")).collect())
                .unwrap_or_default();
            let got: Vec<&str> = role
                .global_extra_permissions()
                .iter()
                .map(|p| p.name())
                .collect();
            assert_eq!(got, extra, "{role} global extras");
        }
        // The inverse table agrees too.
        for (name, roles) in spec["permission_roles"].as_object().expect("object") {
            let p = Permission::from_name(name).expect("known");
            let mut want: Vec<&str> = roles
                .as_array()
                .expect("list")
                .iter()
                .map(|v| v.as_str().expect("name"))
                .collect();
            want.sort_unstable();
            let mut got: Vec<&str> = Role::ALL
                .into_iter()
                .filter(|r| r.has(p))
                .map(Role::name)
                .collect();
            got.sort_unstable();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn summary_counts_hold() {
        let counts: Vec<(Role, usize)> = Role::ALL
            .into_iter()
            .map(|r| (r, r.permissions().len()))
            .collect();
        assert_eq!(
            counts,
            vec![
                (Role::Reader, 16),
                (Role::API_Importer, 15),
                (Role::Writer, 37),
                (Role::Maintainer, 67),
                (Role::Owner, 75),
            ]
        );
    }

    #[test]
    fn permission_set_ops() {
        let s = PermissionSet::of(&[Permission::Product_View, Permission::Finding_Edit]);
        assert!(s.contains(Permission::Product_View));
        assert!(!s.contains(Permission::Product_Delete));
        assert!(s.is_subset(PermissionSet::of(Role::Writer.permissions())));
        assert!(
            !PermissionSet::of(Role::Owner.permissions())
                .is_subset(PermissionSet::of(Role::Maintainer.permissions()))
        );
        assert_eq!(s.iter().count(), 2);
        // The highest permission still fits in the mask.
        assert!(
            PermissionSet::EMPTY
                .with(Permission::Product_Tracking_Files_Delete)
                .contains(Permission::Product_Tracking_Files_Delete)
        );
    }
}
