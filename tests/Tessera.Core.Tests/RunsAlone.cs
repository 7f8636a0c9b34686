using Xunit;

namespace Tessera.Core.Tests;

/// <summary>
/// Tests that measure races or spend a time budget: they run with no other test beside them, so that neither they
/// nor the others are starved of the machine's cores.
/// </summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
