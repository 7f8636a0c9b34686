namespace Tessera.Storage.Postgres;

/// <summary>
/// Which PostgreSQL database the store uses. Bound from Tessera's configuration by <c>AddTesseraPostgresStore</c> and
/// checked at start-up by <see cref="PostgresStoreOptionsValidator"/>.
/// </summary>
public sealed class PostgresStoreOptions
{
    /// <summary>
    /// An Npgsql connection string, e.g. <c>Host=db;Username=tessera;Password=...;Database=tessera</c>
    /// (<c>Tessera:Storage:ConnectionString</c>). Required: there is no default database, and no default credential.
    /// </summary>
    public string? ConnectionString { get; set; }
}
