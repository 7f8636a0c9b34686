global using System.Text.Json;
global using Tessera.Cli.Tests.Infrastructure;
global using Tessera.Testing;
global using Xunit;
