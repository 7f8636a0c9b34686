using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tessera.Server.Http;

/// <summary>
/// Reads every string of a JSON body, and refuses one that holds a NUL character (<c>\u0000</c>) or is not valid
/// Unicode (a lone surrogate written as <c>\ud800</c>): no store can keep either (PostgreSQL refuses NUL in text and
/// the driver cannot encode a lone surrogate), so neither may reach a query. Both are a 400 <c>validation_failed</c>.
/// </summary>
internal sealed class StrictStringConverter : JsonConverter<string>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? value;
        try
        {
            value = reader.GetString();
        }
        catch (InvalidOperationException invalid)
        {
            // The reader's answer to an escaped lone surrogate and to a token that is not a string (a number, say).
            throw new JsonException(invalid.Message, invalid);
        }

        return value is not null && value.Contains('\0', StringComparison.Ordinal)
            ? throw new JsonException("A string contains a NUL character, which no field accepts.")
            : value;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value);
    }
}
