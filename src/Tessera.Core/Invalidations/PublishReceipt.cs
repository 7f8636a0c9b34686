using System.Collections.Frozen;

namespace Tessera.Core.Invalidations;

/// <summary>
/// What publishing one invalidation learnt besides its acknowledgements: the other nodes that, when they acknowledged
/// it, also said their relying apps were confirmed (<see cref="IRelyingApps.IsConfirmed"/>: no app of theirs could be
/// trusting a verdict the invalidation contradicts). <see cref="IInvalidationBus.WhenRelyingAppsConfirmedAsync"/> need
/// not ask those nodes again, which spares a revoking call a second trip through the cluster when no node has apps
/// holding a lease.
/// </summary>
public sealed class PublishReceipt
{
    public PublishReceipt(IEnumerable<string> appsConfirmedOn)
    {
        ArgumentNullException.ThrowIfNull(appsConfirmedOn);
        AppsConfirmedOn = appsConfirmedOn.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>A publish that learnt nothing of other nodes' apps: alone, not confirmed, or on a single node.</summary>
    public static PublishReceipt None { get; } = new([]);

    /// <summary>The nodes whose acknowledgement said their relying apps were confirmed.</summary>
    public IReadOnlySet<string> AppsConfirmedOn { get; }

    /// <summary>The nodes that said so for every one of <paramref name="receipts"/>; none when there is no receipt.</summary>
    public static IReadOnlySet<string> ConfirmedOnAll(IReadOnlyList<PublishReceipt> receipts)
    {
        ArgumentNullException.ThrowIfNull(receipts);
        if (receipts.Count == 0)
        {
            return FrozenSet<string>.Empty;
        }

        IEnumerable<string> common = receipts[0].AppsConfirmedOn;
        for (var i = 1; i < receipts.Count; i++)
        {
            common = common.Intersect(receipts[i].AppsConfirmedOn, StringComparer.Ordinal);
        }

        return common.ToFrozenSet(StringComparer.Ordinal);
    }
}
