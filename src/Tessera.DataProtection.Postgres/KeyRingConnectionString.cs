using Npgsql;

namespace Tessera.DataProtection.Postgres;

/// <summary>
/// Checks the connection string the key ring is given, the way the store checks its own, and names the key ring's
/// connections (<c>tessera-keys</c>) unless the string names them, so that they can be told apart on the server.
/// </summary>
internal static class KeyRingConnectionString
{
    public const string ApplicationName = "tessera-keys";

    public static string Resolve(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException exception)
        {
            throw new ArgumentException($"Not a valid PostgreSQL (Npgsql) connection string: {exception.Message}", nameof(connectionString), exception);
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new ArgumentException("The PostgreSQL connection string names no Host.", nameof(connectionString));
        }

        if (string.IsNullOrWhiteSpace(builder.ApplicationName))
        {
            builder.ApplicationName = ApplicationName;
        }

        return builder.ConnectionString;
    }
}
