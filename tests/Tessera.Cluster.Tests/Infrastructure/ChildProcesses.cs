using System.Diagnostics;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// Every process the suite starts, so that none outlives the test run: fixtures kill theirs on dispose, and whatever is
/// left (a test that timed out and was abandoned, a run stopped half way) is killed when the test process exits.
/// </summary>
internal static class ChildProcesses
{
    private static readonly Lock Gate = new();
    private static readonly List<Process> Started = [];

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static void Track(Process process)
    {
        lock (Gate)
        {
            Started.RemoveAll(p => HasExited(p));
            Started.Add(process);
        }
    }

    private static void KillAll()
    {
        lock (Gate)
        {
            foreach (var process in Started)
            {
                try
                {
                    if (!process.HasExited)
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }

            Started.Clear();
        }
    }

    private static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
