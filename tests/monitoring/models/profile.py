from pydantic import BaseModel

from dockyard import Model


class Person(BaseModel):
    email: str
    age: float
    country: str


class Risk(BaseModel):
    label: str
    probability: float


class Profile(Model[Person, Risk]):
    def predict(self, batch: list[Person]) -> list[Risk]:
        return [Risk(label="old" if p.age > 50 else "young", probability=0.75) for p in batch]
