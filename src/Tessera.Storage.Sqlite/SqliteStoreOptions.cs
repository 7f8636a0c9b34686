namespace Tessera.Storage.Sqlite;

/// <summary>
/// Where the SQLite store keeps its database: a file in <see cref="DataDirectory"/>, unless <see cref="ConnectionString"/>
/// names another. Bound from Tessera's configuration by <c>AddTesseraSqliteStore</c> and checked at start-up by
/// <see cref="SqliteStoreOptionsValidator"/>.
/// </summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The database's file name in <see cref="DataDirectory"/>.</summary>
    public const string DatabaseFileName = "tessera.db";

    /// <summary>The directory of the database file when no connection string is given (<c>Tessera:DataDirectory</c>).</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>
    /// A Microsoft.Data.Sqlite connection string naming a writable file (<c>Tessera:Storage:ConnectionString</c>); when
    /// unset, <c>Data Source={DataDirectory}/tessera.db</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The connection string the store is made with: the one given, or the file in the data directory.</summary>
    internal string StoreConnectionString =>
        ConnectionString ?? $"Data Source={Path.Combine(Path.GetFullPath(DataDirectory), DatabaseFileName)}";
}
