using System.Data.Common;

namespace Tessera.Storage.Relational.Internal;

/// <summary>Reads that mean the same on every database; times, booleans and id lists are read through the <see cref="SqlDialect"/>.</summary>
internal static class DataReaderExtensions
{
    public static string? GetStringOrNull(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static byte[] GetBytes(this DbDataReader reader, int ordinal) => reader.GetFieldValue<byte[]>(ordinal);
}
