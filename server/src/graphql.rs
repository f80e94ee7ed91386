//! The GraphQL API: schema assembly, one module per area, per-request loaders
//! and the GraphQL-over-HTTP transport.

pub mod connection;
pub mod context;
pub mod custom_field;
pub mod document;
pub mod error;
pub mod events;
pub mod fanout;
pub mod file;
pub mod finding;
pub mod finding_group;
pub mod hierarchy;
pub mod history;
pub mod http;
pub mod ids;
pub mod import;
pub mod loaders;
pub mod location;
pub mod membership;
pub mod node;
pub mod note;
pub mod payload;
pub mod plugin;
pub mod risk;
pub mod tag;
pub mod template;
pub mod user;
pub mod webhooks;
pub mod ws;

use async_graphql::{MergedObject, Schema};

use crate::config::GraphqlConfig;

/// Every query field, merged from the areas.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    node::NodeQuery,
    hierarchy::HierarchyQuery,
    finding::FindingQuery,
    finding_group::FindingGroupQuery,
    note::NoteQuery,
    template::TemplateQuery,
    custom_field::CustomFieldQuery,
    risk::RiskQuery,
    plugin::PluginQuery,
    user::UserQuery,
    membership::MembershipQuery,
    import::ImportQuery,
    webhooks::WebhookQuery,
);

/// Every mutation, merged from the areas.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    hierarchy::HierarchyMutation,
    finding::FindingMutation,
    finding::triage::TriageMutation,
    finding::duplicates::DuplicateMutation,
    finding::review::ReviewMutation,
    finding_group::FindingGroupMutation,
    template::TemplateMutation,
    custom_field::CustomFieldMutation,
    file::FileMutation,
    risk::RiskMutation,
    location::LocationMutation,
    note::NoteMutation,
    tag::TagMutation,
    plugin::PluginMutation,
    plugin::PreviewMutation,
    user::UserMutation,
    membership::MembershipMutation,
    import::ImportMutation,
    webhooks::WebhookMutation,
);

/// The server's schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, events::SubscriptionRoot>;

/// The complexity factor of a list field without paging arguments: such a
/// list is counted as if it held this many items, so nesting lists of lists
/// is held to the complexity limit like nested connections are.
pub const LIST_WEIGHT: usize = 20;

/// Refuses documents with more field selections (aliases included) than the
/// limit, counted as written, before validation and execution look at them.
struct FieldLimit(usize);

impl async_graphql::extensions::ExtensionFactory for FieldLimit {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(FieldLimitCheck(self.0))
    }
}

struct FieldLimitCheck(usize);

#[async_graphql::async_trait::async_trait]
impl async_graphql::extensions::Extension for FieldLimitCheck {
    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let fields = document::count_fields(&doc);
        if fields > self.0 {
            return Err(async_graphql::ServerError::new(
                format!(
                    "the document selects {fields} fields (aliases included); at most {} are \
                     allowed (PALISADE_GRAPHQL_MAX_FIELDS)",
                    self.0
                ),
                None,
            ));
        }
        Ok(doc)
    }
}

fn builder(
    config: &GraphqlConfig,
) -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, events::SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        events::SubscriptionRoot,
    )
    .limit_depth(config.max_depth)
    .limit_complexity(config.max_complexity)
    .limit_recursive_depth(config.max_recursive_depth)
    .limit_directives(config.max_directives)
    .extension(FieldLimit(config.max_fields))
    .data(connection::PageLimits {
        max_page_size: config.max_page_size,
    })
}

/// Builds the schema with the configured limits; the same for server and tests.
pub fn build_schema(
    config: &std::sync::Arc<crate::config::Config>,
    plugins: crate::plugins::PluginRegistry,
    limiter: crate::auth::login::LoginLimiter,
    dedupe: std::sync::Arc<crate::import::DedupeSettings>,
    events: crate::events::EventBus,
    importer: crate::import::Importer,
) -> AppSchema {
    builder(&config.graphql)
        .data(events)
        .data(importer)
        .data(plugins)
        .data(limiter)
        .data(dedupe)
        .data(config.clone())
        .finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    builder(&crate::config::Config::for_database("postgres://localhost/x").graphql)
        .finish()
        .sdl()
}
