// The key ring's tests were written beside the store's (namespace Tessera.Storage.Postgres.Tests) and moved as they were.
global using Tessera.DataProtection.Postgres;
