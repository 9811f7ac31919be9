"""renfang (人房): the register of the actual population and actual housing of a city district."""
