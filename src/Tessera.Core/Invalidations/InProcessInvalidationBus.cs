namespace Tessera.Core.Invalidations;

/// <summary>The bus for a single node: handlers run before <see cref="InProcessInvalidationBus.PublishAsync"/> returns.</summary>
public sealed class InProcessInvalidationBus(IEnumerable<IInvalidationHandler> handlers) : IInvalidationBus
{
    private readonly IInvalidationHandler[] _handlers = handlers.ToArray();

    public Task PublishAsync(Invalidation invalidation, CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            handler.Handle(invalidation);
        }

        return Task.CompletedTask;
    }
}
