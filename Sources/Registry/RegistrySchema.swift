/// The registry's database schema as a list of forward migrations.
///
/// Migration `n` takes a database from schema version `n - 1` to `n`; opening a database applies
/// the missing ones in order, in one transaction, and records the result in `schema_version`.
/// A database whose version is above `currentVersion` was written by a newer Periscope and is
/// refused rather than guessed at. Migrations are never edited once released: add a new one.
enum RegistrySchema {
    /// The schema version this code reads and writes.
    static var currentVersion: Int { migrations.count }

    /// `migrations[n - 1]` upgrades version `n - 1` to `n`.
    static let migrations: [String] = [
        // 1: models and their versions.
        """
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            default_version INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE model_versions (
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            version INTEGER NOT NULL CHECK (version > 0),
            architecture TEXT NOT NULL,
            config_json TEXT NOT NULL,
            weights_path TEXT NOT NULL,
            byte_size INTEGER NOT NULL CHECK (byte_size >= 0),
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('registered', 'loading', 'ready', 'failed', 'unloaded')),
            status_reason TEXT,
            PRIMARY KEY (model_id, version)
        );
        """,
        // 2: labels, the preload flag, file ownership, and the journal of in-flight file changes
        //    that makes uploads and removals crash-safe.
        """
        ALTER TABLE models ADD COLUMN preload INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE model_labels (
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (model_id, key)
        );
        ALTER TABLE model_versions ADD COLUMN owns_weights_file INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE pending_files (
            path TEXT PRIMARY KEY,
            temporary_path TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('upload', 'delete')),
            created_at INTEGER NOT NULL
        );
        """,
        // 3: per-name version counters that outlive the model, so a number is never handed out
        //    twice even after every version (or the model) was removed. Seeded from what exists.
        """
        CREATE TABLE version_sequences (
            name TEXT PRIMARY KEY,
            last_version INTEGER NOT NULL
        );
        INSERT INTO version_sequences (name, last_version)
            SELECT m.name, MAX(v.version) FROM models m JOIN model_versions v ON v.model_id = m.id GROUP BY m.name;
        CREATE INDEX model_versions_status ON model_versions (status);
        """,
        // 4: the precision each version computes in; existing versions keep float32.
        """
        ALTER TABLE model_versions ADD COLUMN precision TEXT NOT NULL DEFAULT 'float32'
            CHECK (precision IN ('float32', 'bfloat16', 'int8'));
        """,
        // 5: dataset extraction jobs (POST /v1/jobs): what each asks for, where it stands, and how
        //    far it got, so that a restarted server resumes the running ones.
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            specification TEXT NOT NULL,
            model_name TEXT NOT NULL,
            model_version INTEGER NOT NULL CHECK (model_version > 0),
            items_done INTEGER NOT NULL DEFAULT 0 CHECK (items_done >= 0),
            items_total INTEGER NOT NULL DEFAULT 0 CHECK (items_total >= 0),
            errors INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
            error TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER
        );
        CREATE INDEX jobs_state ON jobs (state);
        """,
    ]

    /// Brings the database to `targetVersion` (default: current), refusing newer schemas.
    /// Returns the version found before migrating.
    @discardableResult
    static func migrate(_ connection: SQLiteConnection, to targetVersion: Int = currentVersion) throws -> Int {
        precondition((0...currentVersion).contains(targetVersion), "no schema version \(targetVersion)")
        return try connection.transaction {
            try connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            let rows = try connection.query("SELECT version FROM schema_version")
            let found = rows.first?.int(0) ?? 0
            if rows.isEmpty { try connection.execute("INSERT INTO schema_version (version) VALUES (0)") }
            if found > currentVersion {
                throw RegistryError.newerSchema(path: connection.path, found: found, supported: currentVersion)
            }
            guard found < targetVersion else { return found }
            for version in (found + 1)...targetVersion {
                try connection.executeScript(migrations[version - 1])
            }
            try connection.execute("UPDATE schema_version SET version = ?", [.int(targetVersion)])
            return found
        }
    }

    /// The schema version recorded in the database (0 for an empty one).
    static func version(_ connection: SQLiteConnection) throws -> Int {
        let exists = try connection.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
        guard !exists.isEmpty else { return 0 }
        return try connection.query("SELECT version FROM schema_version").first?.int(0) ?? 0
    }
}
