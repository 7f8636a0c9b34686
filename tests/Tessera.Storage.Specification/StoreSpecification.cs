using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Storage.Specification;

/// <summary>
/// What every <see cref="ITesseraStore"/> must do, written once and only against the ports. A provider's test
/// project references this library and derives a class whose <see cref="CreateStoreAsync"/> returns a fresh,
/// migrated, empty store for each test.
/// </summary>
/// <remarks>
/// Times are whole milliseconds in UTC: that is the precision every store is asked to keep. The rows and the small
/// transactions the tests write them with are <see cref="TestData"/>'s.
/// </remarks>
public abstract partial class StoreSpecification
{
    /// <summary>A new, migrated, empty store; the deriving class cleans it up after the test.</summary>
    protected abstract Task<ITesseraStore> CreateStoreAsync();

    protected static Task AppendAsync(ITesseraStore store, params AuditEvent[] events) => WriteAsync(store, async transaction =>
    {
        foreach (var auditEvent in events)
        {
            await transaction.Audit.AppendAsync(auditEvent, Ct);
        }
    });

    protected static Task<IReadOnlyList<AuditEvent>> QueryAuditAsync(ITesseraStore store, AuditQuery query) =>
        ReadAsync(store, transaction => transaction.Audit.QueryAsync(query, Ct));

    /// <summary>Audit events hold a list, which record equality compares by reference: compare field by field.</summary>
    protected static void AssertSameEvent(AuditEvent expected, AuditEvent actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.At, actual.At);
        Assert.Equal(expected.Action, actual.Action);
        Assert.Equal(expected.Actor, actual.Actor);
        Assert.Equal(expected.TargetUserId, actual.TargetUserId);
        Assert.Equal(expected.SessionIds, actual.SessionIds);
        Assert.Equal(expected.Reason, actual.Reason);
        Assert.Equal(expected.IpAddress, actual.IpAddress);
    }

    protected static string[] Sorted(IEnumerable<string> ids) => [.. ids.Order(StringComparer.Ordinal)];
}
