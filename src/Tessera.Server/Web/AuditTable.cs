using Tessera.Core;
using Tessera.Core.Administration;
using Tessera.Core.Audit;

namespace Tessera.Server.Web;

/// <summary>Audit events for <c>Shared/_AuditTable.cshtml</c>, with the emails of the users they name where known.</summary>
internal sealed record AuditTable(IReadOnlyList<AuditEvent> Events, IReadOnlyDictionary<string, string> UserLabels)
{
    public static readonly AuditTable Empty = new([], new Dictionary<string, string>());

    public string Label(string id) => UserLabels.TryGetValue(id, out var label) ? label : id;

    /// <summary>The events with the emails of the users they name, looked up once each, so the table reads as people rather than ids.</summary>
    public static async Task<AuditTable> CreateAsync(IReadOnlyList<AuditEvent> events, UserAdministration admin, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var ids = events.SelectMany(e => new[] { e.Actor.Id, e.TargetUserId }).OfType<string>().Distinct(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            try
            {
                var (user, _) = await admin.GetAsync(id, cancellationToken).ConfigureAwait(false);
                labels[id] = user.Email;
            }
            catch (TesseraException refused) when (refused.Code == ErrorCodes.NotFound)
            {
                // Ids of users that never existed stay ids.
            }
        }

        return new AuditTable(events, labels);
    }
}
