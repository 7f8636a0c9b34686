using Microsoft.Extensions.Options;

namespace Tessera.Storage.Sqlite;

/// <summary>Fails start-up with a clear message when the settings name no database file the store can write.</summary>
public sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ConnectionString is null)
        {
            return string.IsNullOrWhiteSpace(options.DataDirectory)
                ? ValidateOptionsResult.Fail(
                    "Tessera:DataDirectory must name a directory for the SQLite database, or Tessera:Storage:ConnectionString name its file.")
                : ValidateOptionsResult.Success;
        }

        try
        {
            _ = SqliteTesseraStore.Resolve(options.ConnectionString);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException exception)
        {
            return ValidateOptionsResult.Fail($"Tessera:Storage:ConnectionString is not usable by the SQLite store: {exception.Message}");
        }
    }
}
