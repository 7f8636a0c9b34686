using System.Globalization;
using Xunit;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// The checks of one test and what it measured. A check that fails does not stop the test: a fault test goes on to
/// the recovery it also has to show, and every failure is reported at the end, with the measurements.
/// </summary>
public sealed class Findings
{
    private readonly List<string> _failures = [];
    private readonly List<string> _measurements = [];

    public IReadOnlyList<string> Failures => _failures;

    public void Check(bool condition, string failure)
    {
        if (!condition)
        {
            lock (_failures)
            {
                _failures.Add(failure);
            }
        }
    }

    /// <summary>Writes a measurement to the test output and to cluster-measurements.log beside the test assembly.</summary>
    public void Measure(string line)
    {
        lock (_measurements)
        {
            _measurements.Add(line);
        }

        var test = TestContext.Current.Test?.TestDisplayName ?? "?";
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        lock (typeof(Findings))
        {
            File.AppendAllText(
                Path.Combine(AppContext.BaseDirectory, "cluster-measurements.log"),
                $"{DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)} [{test}] {line}{Environment.NewLine}");
        }
    }

    /// <summary>Fails the test with every failed check, and the measurements for context.</summary>
    public void AssertAll()
    {
        if (_failures.Count > 0)
        {
            Assert.Fail(
                $"{_failures.Count} check(s) failed:\n  - " + string.Join("\n  - ", _failures) +
                "\nMeasured:\n  " + string.Join("\n  ", _measurements));
        }
    }
}

/// <summary>
/// A test that starts a cluster of its own (it stops, kills or cuts things) and shows every node's log when it fails.
/// </summary>
public abstract class ClusterTest : IAsyncLifetime
{
    protected ClusterTest(ClusterOptions? options = null) => Cluster = new TesseraCluster(options ?? new ClusterOptions());

    protected TesseraCluster Cluster { get; }

    protected Findings Findings { get; } = new();

    public ValueTask InitializeAsync() => Cluster.InitializeAsync();

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        var failed = TestContext.Current.TestState?.Result is TestResult.Failed;
        var diagnostics = failed ? Cluster.Diagnostics() : null;
        if (failed)
        {
            Cluster.KeepFiles();
        }

        await Cluster.DisposeAsync();
        if (diagnostics is not null)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(diagnostics);
            throw new ClusterLogsException(diagnostics);
        }
    }
}

/// <summary>Carries the nodes' logs into the report of a failed test.</summary>
public sealed class ClusterLogsException(string logs) : Exception("The test failed; the cluster's logs follow.\n" + logs);
