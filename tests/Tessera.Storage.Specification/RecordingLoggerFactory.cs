using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Specification;

/// <summary>Hands out one <see cref="RecordingLogger{T}"/> for every category, for a component that takes its logger as an <c>ILogger&lt;itself&gt;</c>.</summary>
public sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly RecordingLogger<RecordingLoggerFactory> _logger = new();

    public IReadOnlyList<LogEntry> Entries => _logger.Entries;

    public ILogger CreateLogger(string categoryName) => _logger;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Everything logged is recorded here.");

    public void Dispose()
    {
    }
}
