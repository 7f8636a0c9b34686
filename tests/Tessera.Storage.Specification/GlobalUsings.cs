global using static Tessera.Storage.Specification.TestData;
