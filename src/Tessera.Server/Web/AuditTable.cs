using Tessera.Core.Audit;

namespace Tessera.Server.Web;

/// <summary>Audit events for <c>Shared/_AuditTable.cshtml</c>, with the emails of the users they name where known.</summary>
internal sealed record AuditTable(IReadOnlyList<AuditEvent> Events, IReadOnlyDictionary<string, string> UserLabels)
{
    public string Label(string id) => UserLabels.TryGetValue(id, out var label) ? label : id;
}
