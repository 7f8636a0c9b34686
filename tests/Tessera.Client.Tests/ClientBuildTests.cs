using System.Reflection;
using System.Runtime.Versioning;
using Tessera.Client;

namespace Tessera.Client.Tests;

/// <summary>
/// Which build of Tessera.Client this run exercises. The suite runs against the net10.0 build, and with
/// <c>-p:TesseraClientTarget=net8.0</c> against the net8.0 one (still on the .NET 10 runtime, see the project file):
/// a run that says it tested the net8.0 build must have loaded it, or its totals prove nothing about it.
/// </summary>
public sealed class ClientBuildTests
{
    [Fact]
    public void The_loaded_Tessera_Client_is_the_build_this_suite_was_built_against()
    {
        var wanted = typeof(ClientBuildTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == "TesseraClientTarget").Value;
        var client = typeof(TesseraClient).Assembly;
        var framework = client.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName;

        var expected = string.IsNullOrEmpty(wanted) || wanted == "net10.0" ? ".NETCoreApp,Version=v10.0" : ".NETCoreApp,Version=v" + wanted["net".Length..];
        Assert.Equal(expected, framework);
        TestContext.Current.SendDiagnosticMessage($"Tessera.Client: {framework}, from {client.Location}, on .NET {Environment.Version}");
    }
}
