global using Tessera.Client.Tests.Infrastructure;
global using Xunit;
