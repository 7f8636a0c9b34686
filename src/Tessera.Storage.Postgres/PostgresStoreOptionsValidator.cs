using Microsoft.Extensions.Options;

namespace Tessera.Storage.Postgres;

/// <summary>Fails start-up with a clear message when the settings name no PostgreSQL server the store can reach.</summary>
public sealed class PostgresStoreOptionsValidator : IValidateOptions<PostgresStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail("Tessera:Storage:ConnectionString is required when Tessera:Storage:Provider is 'postgres'.");
        }

        try
        {
            _ = PostgresTesseraStore.Resolve(options.ConnectionString);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException exception)
        {
            return ValidateOptionsResult.Fail($"Tessera:Storage:ConnectionString is not usable by the PostgreSQL store: {exception.Message}");
        }
    }
}
