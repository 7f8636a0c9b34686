global using Microsoft.Playwright;
global using Tessera.Web.Tests.Infrastructure;
global using Xunit;
global using static Microsoft.Playwright.Assertions;
